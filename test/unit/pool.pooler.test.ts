/**
 * What `DATABASE_POOLER=transaction` changes in the session's settings (src/db/pool.ts): no
 * server-side timeouts as startup parameters, the same timeouts as transaction-local settings
 * sent with every BEGIN, and named statements only with `poolerPreparedStatements`.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/config.js';
import { sessionOptions, transactionLocals, usesNamedStatements } from '../../src/db/pool.js';

const config = (env: Record<string, string> = {}) => loadConfig({ DATABASE_URL: 'postgres://app@db.internal:6432/ideas', ...env });

describe('pooler: transaction', () => {
  it('directly, the timeouts are startup parameters and no BEGIN carries them', () => {
    const { connection, pool } = config();
    const options = sessionOptions(connection, pool) as Record<string, unknown>;
    expect(options).toMatchObject({
      statement_timeout: 30_000,
      idle_in_transaction_session_timeout: 60_000,
      application_name: 'ai-validation-data-layer',
    });
    expect(transactionLocals(pool)).toBeUndefined();
    expect(usesNamedStatements(pool)).toBe(true);
  });

  it('behind a transaction pooler only application_name is sent, and every BEGIN sets the timeouts transaction-locally', () => {
    const { connection, pool } = config({ DATABASE_POOLER: 'transaction', DATABASE_STATEMENT_TIMEOUT_MS: '1500' });
    const options = sessionOptions(connection, pool) as Record<string, unknown>;
    expect(options).not.toHaveProperty('statement_timeout');
    expect(options).not.toHaveProperty('idle_in_transaction_session_timeout');
    expect(options.application_name).toBe('ai-validation-data-layer');
    // The client-side backstop stays: it is not a server setting.
    expect(options.query_timeout).toBe(6_500);
    expect(transactionLocals(pool)).toBe(
      "SELECT pg_catalog.set_config('statement_timeout', '1500', true), pg_catalog.set_config('idle_in_transaction_session_timeout', '60000', true)",
    );
  });

  it('keeps named statements off behind the pooler unless DATABASE_POOLER_PREPARED_STATEMENTS (PgBouncer 1.21+)', () => {
    expect(usesNamedStatements(config({ DATABASE_POOLER: 'transaction' }).pool)).toBe(false);
    expect(usesNamedStatements(config({ DATABASE_POOLER: 'transaction', DATABASE_POOLER_PREPARED_STATEMENTS: 'true' }).pool)).toBe(true);
    expect(
      usesNamedStatements(
        config({ DATABASE_POOLER: 'transaction', DATABASE_POOLER_PREPARED_STATEMENTS: 'true', DATABASE_PREPARED_STATEMENTS: 'false' }).pool,
      ),
    ).toBe(false);
  });

  it('takes the option as createDatabase({ pool: { pooler } }) does, and refuses another value by name', () => {
    const { config: resolved } = resolveConfig({ connectionString: 'postgres://app@db/ideas', env: {}, pool: { pooler: 'transaction' } });
    expect(resolved.pool.pooler).toBe('transaction');
    expect(() => resolveConfig({ connectionString: 'postgres://app@db/ideas', env: {}, pool: { pooler: 'session' as never } })).toThrow(
      /pool\.pooler/,
    );
  });
});
