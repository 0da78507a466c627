/**
 * Finds out who blocks a migration statement. While a statement runs longer than a short delay,
 * a second connection polls `pg_blocking_pids(<migrator pid>)`; if the statement then fails on
 * `lock_timeout`, the error names the sessions that held the lock. Fast statements never open
 * the second connection.
 */
import pg from 'pg';
import type { Logger } from '../logger.js';

export interface Blocker {
  pid: number;
  applicationName: string;
  state: string | null;
  /** The blocker's current (or last) query, whitespace collapsed, at most 120 characters. */
  query: string | null;
  /** When the blocker's transaction started. */
  xactStart: Date | null;
}

const BLOCKERS_SQL = `
  SELECT pid, application_name, state, xact_start,
         left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
    FROM pg_stat_activity
   WHERE pid = ANY (pg_blocking_pids($1))
   ORDER BY pid`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function describeBlockers(blockers: readonly Blocker[]): string {
  return blockers
    .map(
      (b) =>
        `pid ${b.pid} (application_name "${b.applicationName}", state "${b.state ?? 'unknown'}"` +
        `${b.xactStart ? `, transaction open since ${b.xactStart.toISOString()}` : ''}` +
        `${b.query ? `, query: ${b.query}` : ''})`,
    )
    .join('; ');
}

/** A statement failure together with the blockers seen while it ran. */
export class WatchedFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly blockers: readonly Blocker[],
  ) {
    super('a watched statement failed', { cause });
  }
}

export class BlockerWatch {
  private client: Promise<pg.Client> | undefined;
  /** The client while it connects and prepares its session. */
  private opening: pg.Client | undefined;

  /**
   * @param config  how to open the polling connection (same server and database as the migrator)
   * @param pid     the migrator's backend pid
   * @param delayMs how long a statement may run before polling starts
   * @param prepare runs once on the polling connection after it opens (the migrator's session settings)
   */
  constructor(
    private readonly config: pg.ClientConfig,
    private readonly pid: number,
    private readonly delayMs: number,
    private readonly logger: Logger,
    private readonly intervalMs = 100,
    private readonly prepare: (client: pg.Client) => Promise<void> = async () => undefined,
  ) {}

  /** Runs `fn`; on failure throws a `WatchedFailure` holding the blockers last seen while it ran. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    let running = true;
    let blockers: Blocker[] = [];
    let polling: Promise<void> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const client = await this.connect();
        while (running) {
          const { rows } = await client.query<{
            pid: number;
            application_name: string;
            state: string | null;
            xact_start: Date | null;
            query: string | null;
          }>(BLOCKERS_SQL, [this.pid]);
          // Keep the last non-empty sighting: the lock may be released the moment we fail.
          if (running && rows.length > 0) {
            blockers = rows.map((r) => ({
              pid: r.pid,
              applicationName: r.application_name,
              state: r.state,
              query: r.query,
              xactStart: r.xact_start,
            }));
          }
          if (running) await sleep(this.intervalMs);
        }
      } catch (err) {
        this.logger.debug({ err }, 'could not poll pg_blocking_pids');
      }
    };
    const timer = setTimeout(() => {
      polling = poll();
    }, this.delayMs);
    try {
      return await fn();
    } catch (error) {
      throw new WatchedFailure(error, blockers);
    } finally {
      running = false;
      clearTimeout(timer);
      void polling;
    }
  }

  async close(): Promise<void> {
    const pending = this.client;
    const opening = this.opening;
    this.client = this.opening = undefined;
    if (!pending) return;
    if (opening) {
      // Still opening (on a network gone silent it may never open): cut it instead of waiting for
      // it, so the run fails within its own bound.
      void opening.end().catch(() => undefined);
      return;
    }
    try {
      await (await pending).end();
    } catch {
      // The connection failed to open or is already gone; nothing to release.
    }
  }

  private connect(): Promise<pg.Client> {
    this.client ??= (async () => {
      const client = new pg.Client({
        ...this.config,
        application_name: `data-layer migrate blocker watch (pid ${process.pid})`,
        statement_timeout: 5000,
        query_timeout: 10_000,
      });
      client.on('error', (err) => this.logger.debug({ err }, 'blocker polling connection failed'));
      this.opening = client;
      try {
        await client.connect();
        await this.prepare(client);
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      } finally {
        if (this.opening === client) this.opening = undefined;
      }
      return client;
    })();
    return this.client;
  }
}
