/**
 * pgbench `-M prepared` running the point read, as the server's limit: a C client with a named
 * prepared statement per connection and no result decoding to speak of. pgbench cannot draw a
 * random uuid from a list, so it gets 100 scripts (its maximum is 128), each reading one fixed id
 * of the load set, picked at random per transaction. Its client CPU comes from the shell's `times`
 * (the CPU of its children) around the run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ConnectionSettings } from '../../../src/connection.js';
import { IDEA_COLUMNS } from './sql.js';
import type { ExternalContender } from './types.js';

const SCRIPTS = 100;

/** pgbench on this machine: `explicit`, else PATH, else the PostgreSQL 15 packages' folder. */
export function findPgbench(explicit?: string): string | undefined {
  if (explicit) return explicit;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'pgbench');
    if (dir && existsSync(candidate)) return candidate;
  }
  return [
    '/usr/lib/postgresql/18/bin/pgbench',
    '/usr/lib/postgresql/17/bin/pgbench',
    '/usr/lib/postgresql/16/bin/pgbench',
    '/usr/lib/postgresql/15/bin/pgbench',
  ].find((candidate) => existsSync(candidate));
}

export async function pgbench(
  connection: ConnectionSettings,
  ideaIds: readonly string[],
  binary: string | undefined,
): Promise<ExternalContender | { skipped: string }> {
  if (!binary) return { skipped: 'pgbench not found (PATH, /usr/lib/postgresql/*/bin; or --pgbench <path>)' };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dl-bench-pgbench-'));
  const files: string[] = [];
  for (let i = 0; i < SCRIPTS; i++) {
    const id = ideaIds[Math.floor(Math.random() * ideaIds.length)]!;
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`unexpected idea id ${id}`);
    const file = path.join(dir, `point-read-${i}.sql`);
    await writeFile(file, `SELECT ${IDEA_COLUMNS.replace(/\s+/g, ' ')} FROM business_ideas WHERE id = '${id}' AND deleted_at IS NULL;\n`);
    files.push(file);
  }
  const env = {
    ...process.env,
    PGHOST: connection.host,
    PGPORT: String(connection.port),
    PGUSER: connection.user,
    PGDATABASE: connection.database,
    PGAPPNAME: 'dl-bench-pgbench',
    ...(connection.password === undefined ? {} : { PGPASSWORD: connection.password }),
  };
  return {
    settings: `${binary} -M prepared -n -c <concurrency> -j 2 -T <seconds, whole> over ${SCRIPTS} one-id scripts`,
    async pointReadWindow({ seconds, concurrency }) {
      const args = [
        '-M',
        'prepared',
        '-n',
        '-c',
        String(concurrency),
        '-j',
        '2',
        '-T',
        String(Math.max(1, Math.round(seconds))),
        ...files.flatMap((f) => ['-f', f]),
      ];
      // `times` prints the shell's CPU, then its children's: pgbench's user and system time.
      const script = `"$0" "$@"; status=$?; times >&2; exit $status`;
      const started = performance.now();
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', script, binary, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('error', reject);
        child.on('close', (exit) => resolve({ code: exit, stdout: out, stderr: err }));
      });
      const elapsedMs = performance.now() - started;
      if (code !== 0) throw new Error(`pgbench failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
      const processed = /number of transactions actually processed: (\d+)/.exec(stdout);
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
      if (!processed || !tps) throw new Error(`could not read pgbench's output: ${stdout.slice(-300)}`);
      const ops = Number(processed[1]);
      // pgbench's own figure excludes its connection set-up; the elapsed time follows from it.
      const measuredMs = (ops / Number(tps[1])) * 1000;
      const times = [...stderr.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].at(-1);
      const clientCpuMs = times ? (Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4])) * 1000 : undefined;
      return {
        ops,
        elapsedMs: Number.isFinite(measuredMs) ? measuredMs : elapsedMs,
        ...(clientCpuMs === undefined ? {} : { clientCpuMs }),
      };
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
