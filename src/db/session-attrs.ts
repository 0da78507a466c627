/**
 * libpq's `target_session_attrs=read-write` and `=primary` for the pool: node-postgres does not
 * know them, so a pool client that checks the server once, right after connecting, and refuses a
 * server that does not match (as libpq refuses it) with a `ConnectionError` naming the URL. Without
 * the setting no client class is given and nothing is checked.
 */
import pg from 'pg';
import { describeConnection, type ConnectionSettings } from '../connection.js';
import { ConnectionError } from '../errors.js';

const CHECK_SQL = "SELECT pg_catalog.pg_is_in_recovery() AS standby, pg_catalog.current_setting('transaction_read_only') AS read_only";

type ConnectCallback = Parameters<pg.Client['connect']>[0] & ((error: Error | null, client?: pg.Client) => void);

/** `{ Client }` for `new pg.Pool(...)` when `connection` asks for the primary, else `{}`. */
export function sessionClient(connection: ConnectionSettings): { Client?: typeof pg.Client } {
  const attrs = connection.targetSessionAttrs;
  if (!attrs) return {};
  const target = describeConnection(connection);
  class CheckedClient extends pg.Client {
    // pg-pool calls connect(callback); other callers await connect().
    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
      const done = super.connect().then(async () => {
        const { rows } = await this.query<{ standby: boolean; read_only: string }>(CHECK_SQL);
        const { standby, read_only: readOnly } = rows[0]!;
        if (attrs === 'primary' ? !standby : !standby && readOnly !== 'on') return this;
        await this.end().catch(() => undefined);
        const what = standby ? 'a hot standby (pg_is_in_recovery() is true)' : 'read-only (default_transaction_read_only is on)';
        throw new ConnectionError(
          `could not connect to ${target}: target_session_attrs=${attrs}, but the server is ${what}; ` +
            'point DATABASE_URL at the primary, and list standbys in DATABASE_REPLICA_URLS',
        );
      });
      if (!callback) return done;
      done.then(
        () => callback(null, this),
        (error: Error) => callback(error),
      );
    }
  }
  return { Client: CheckedClient };
}
