/**
 * Prisma 7 with `@prisma/adapter-pg` over a pool with the benchmark's settings, using a client
 * generated from ../prisma/schema.prisma into .bench/prisma-client (`prisma generate`, run here
 * when the schema or the Prisma version changed). The client runs Prisma's WebAssembly query
 * compiler in this process; no engine binary is involved at run time.
 *
 * `prisma generate` would not work on a machine without internet access as it comes: before
 * `generate` (and `version`, `migrate`, `db`, ...) the CLI makes sure its native schema engine is
 * in node_modules/@prisma/engines and downloads it from binaries.prisma.sh when it is not,
 * although generating never runs it (the schema is read by the WebAssembly module shipped in the
 * package). The download is skipped when PRISMA_SCHEMA_ENGINE_BINARY names an existing file, so
 * generate is run with it pointing at a stub in .bench/ that only records that it was called and
 * fails; a call recorded is a failure (the client is then not used). Nothing is downloaded. A
 * PRISMA_SCHEMA_ENGINE_BINARY of the caller's is passed on instead. When generation fails, the
 * contender is skipped and the report carries the CLI's own message.
 *
 * Where Prisma has no API for a query, the idiomatic escape hatch is used: the claim's
 * `FOR NO KEY UPDATE SKIP LOCKED` is `$queryRawUnsafe` with the hand-written statement of
 * ./sql.ts inside an interactive transaction. Elsewhere the model API is used as a Prisma user
 * would: `create` for an idea (no live-user check in the same statement), `update` with a status
 * filter for transitions, `groupBy` for the score aggregate (averaged over agent types in
 * JavaScript), `cursor` + `skip: 1` for keyset pages, a batch `$transaction([...])` to complete an
 * evaluation.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { CLAIM_NEXT_UPDATE } from './sql.js';
import type { Claimed, Contender, ContenderContext, Driver } from './types.js';

const PAGE = 20;
const LEASE_SECONDS = 300;
const ideaSelect = { id: true, userId: true, title: true, description: true, status: true, createdAt: true, updatedAt: true } as const;

/** The part of the generated client's delegates the benchmark calls (the generated types are not checked in). */
interface Delegate {
  findFirst(args: object): Promise<unknown>;
  findMany(args: object): Promise<{ id: string }[]>;
  create(args: object): Promise<unknown>;
  createManyAndReturn(args: object): Promise<{ id: string }[]>;
  update(args: object): Promise<unknown>;
  updateMany(args: object): Promise<{ count: number }>;
  groupBy(args: object): Promise<GroupRow[]>;
}

interface GroupRow {
  agentType: string;
  _avg: { score: unknown };
  _count: { score: number };
}

interface PrismaLike {
  businessIdea: Delegate;
  evaluation: Delegate;
  agentResult: Delegate;
  $transaction<T>(fn: (tx: PrismaLike) => Promise<T>): Promise<T>;
  $transaction(batch: unknown[]): Promise<unknown[]>;
  $queryRawUnsafe<T>(text: string, ...values: unknown[]): Promise<T>;
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
}

type PrismaClientClass = new (options: { adapter: unknown; transactionOptions: { maxWait: number; timeout: number } }) => PrismaLike;
type PrismaPgClass = new (pool: pg.Pool) => unknown;

export async function prisma(context: ContenderContext): Promise<Contender | { skipped: string }> {
  const require = createRequire(import.meta.url);
  let version: string;
  try {
    version = (require('prisma/package.json') as { version: string }).version;
    require.resolve('@prisma/adapter-pg');
  } catch {
    return { skipped: 'prisma and @prisma/adapter-pg are not installed' };
  }
  const output = path.join(context.workDir, 'prisma-client');
  const failure = await generate(context.root, output, version);
  if (failure) return { skipped: failure };
  const { PrismaClient } = (await import(pathToFileURL(path.join(output, 'client.ts')).href)) as { PrismaClient: PrismaClientClass };
  const { PrismaPg } = (await import('@prisma/adapter-pg')) as unknown as { PrismaPg: PrismaPgClass };
  const pool = context.createPool();
  // An interactive transaction waits for a connection as long as the pool lets everyone else
  // wait (Prisma's own default is 2 s, which 200 callers on 20 connections exceed).
  const transactionOptions = { maxWait: context.config.pool.connectionTimeoutMs, timeout: context.config.pool.statementTimeoutMs };
  const client = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions });
  await client.$connect();

  const followIdea = (db: PrismaLike, ideaId: string, to: 'evaluating' | 'completed', from: 'submitted' | 'evaluating') =>
    db.businessIdea.updateMany({ where: { id: ideaId, status: from, deletedAt: null }, data: { status: to } });

  const driver: Driver = {
    async getIdea(id) {
      const idea = await client.businessIdea.findFirst({ where: { id, deletedAt: null }, select: ideaSelect });
      if (!idea) throw new Error(`idea ${id} not found`);
      return idea;
    },
    async listIdeas(userId, cursor) {
      const rows = await client.businessIdea.findMany({
        where: { userId, deletedAt: null },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: PAGE + 1,
        select: ideaSelect,
        ...(cursor ? { cursor: { id: cursor.id }, skip: 1 } : {}),
      });
      return { items: rows.slice(0, PAGE), nextCursor: rows.length > PAGE ? rows[PAGE - 1]!.id : null };
    },
    createIdea: (userId, title, description) => client.businessIdea.create({ data: { userId, title, description }, select: ideaSelect }),
    createAgentRuns: (evaluationId, agentTypes) =>
      client.agentResult.createManyAndReturn({ data: agentTypes.map((agentType) => ({ evaluationId, agentType, inputData: {} })) }),
    startAgentRun: (id) =>
      client.agentResult.update({ where: { id, status: 'pending' }, data: { status: 'running', startedAt: new Date() } }),
    completeAgentRun: (id, { outputData, insights, score }) =>
      client.agentResult.update({
        where: { id, status: 'running' },
        data: { status: 'completed', outputData, insights, score, completedAt: new Date() },
      }),
    async scoreSummary(evaluationId) {
      const groups = await client.agentResult.groupBy({
        by: ['agentType'],
        where: { evaluationId },
        _avg: { score: true },
        _count: { score: true },
        orderBy: { agentType: 'asc' },
      });
      const byAgentType = groups.map((g) => ({ agentType: g.agentType, average: g._avg.score === null ? null : Number(g._avg.score) }));
      const scored = groups.filter((g) => g._count.score > 0);
      const sum = scored.reduce((total, g) => total + Number(g._avg.score) * g._count.score, 0);
      const count = scored.reduce((total, g) => total + g._count.score, 0);
      return { overall: count === 0 ? null : Math.round((sum / count) * 100) / 100, byAgentType };
    },
    claimNext(workerId) {
      return client.$transaction(async (tx) => {
        const [claimed] = await tx.$queryRawUnsafe<Claimed[]>(CLAIM_NEXT_UPDATE, workerId, LEASE_SECONDS);
        if (!claimed) return null;
        await followIdea(tx, claimed.businessIdeaId, 'evaluating', 'submitted');
        return claimed;
      });
    },
    async completeEvaluation(claimed, workerId, results) {
      const [completed] = await client.$transaction([
        client.evaluation.update({
          where: { id: claimed.id, status: 'analyzing', claimedBy: workerId, attempt: claimed.attempt },
          data: { status: 'completed', results, completedAt: new Date(), leaseExpiresAt: null },
        }),
        followIdea(client, claimed.businessIdeaId, 'completed', 'evaluating'),
      ]);
      return completed;
    },
  };
  return {
    driver,
    settings:
      `Prisma ${version}: new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions: { maxWait: ${transactionOptions.maxWait}, timeout: ${transactionOptions.timeout} } }), ` +
      'prisma-client generator (WebAssembly query compiler)',
    close: async () => {
      await client.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

/**
 * Runs `prisma generate` when the generated client is missing or was made from another schema or
 * Prisma version. Returns why it failed (the CLI's own words), or undefined.
 */
async function generate(root: string, output: string, version: string): Promise<string | undefined> {
  const schema = path.join(root, 'scripts', 'bench', 'prisma', 'schema.prisma');
  const stamp = path.join(output, '.generated-from');
  const want = `${version} ${createHash('sha256')
    .update(await readFile(schema))
    .digest('hex')}`;
  if (existsSync(path.join(output, 'client.ts')) && (await readFile(stamp, 'utf8').catch(() => '')) === want) return undefined;
  const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
  const stub = await schemaEngineStub(path.dirname(output));
  const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, 'generate', '--schema', schema], {
      cwd: root,
      // No telemetry, no update check, and no engine download (see the module comment).
      env: {
        ...process.env,
        CHECKPOINT_DISABLE: '1',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
        ...(process.env.PRISMA_SCHEMA_ENGINE_BINARY ? {} : { PRISMA_SCHEMA_ENGINE_BINARY: stub.path }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 180_000,
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', (error) => resolve({ code: -1, output: error.message }));
    child.on('close', (code) => resolve({ code, output: text }));
  });
  if (result.code !== 0) {
    const lines = result.output
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    return `prisma generate failed (exit ${result.code}): ${lines.slice(-3).join(' / ') || 'no output'}`;
  }
  if (await stub.called()) return `prisma generate ran its schema engine (${stub.path} was called): cannot generate without it here`;
  await writeFile(stamp, want);
  return undefined;
}

/** An executable that stands in for the schema engine: it records a call and fails. */
async function schemaEngineStub(dir: string): Promise<{ path: string; called(): Promise<boolean> }> {
  const folder = path.join(dir, 'prisma-schema-engine-stub');
  const file = path.join(folder, 'schema-engine');
  const log = path.join(folder, 'called');
  await mkdir(folder, { recursive: true });
  await rm(log, { force: true });
  await writeFile(
    file,
    `#!/bin/sh\n# The benchmark's stand-in for Prisma's schema engine (scripts/bench/contenders/prisma.ts).\necho "$@" >> '${log}'\necho 'no schema engine here: the query benchmark only generates the client' >&2\nexit 1\n`,
  );
  await chmod(file, 0o755);
  return {
    path: file,
    called: () =>
      readFile(log, 'utf8').then(
        () => true,
        () => false,
      ),
  };
}
