/**
 * A process that starts an ephemeral embedded PostgreSQL, prints where (one JSON line) and waits
 * to be killed: the harness tests SIGKILL it to prove the server does not outlive it.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '../../scripts/lib/embedded.js';

const dataDir = await mkdtemp(join(tmpdir(), 'dl-pg-child-'));
const server = await startEmbedded({ dataDir, persistent: false });
console.log(JSON.stringify({ pid: process.pid, port: server.admin.port, dataDir, password: server.admin.password }));
setInterval(() => undefined, 60_000);
