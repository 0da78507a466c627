/**
 * Replica configuration (issue 14, items 3 and 5): `DATABASE_REPLICA_URLS` and
 * `createDatabase({ replicas })`, and libpq's multi-host URLs and `target_session_attrs`, each
 * accepted where it means something or refused saying what to use instead.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/config.js';
import { toConnectionUrl } from '../../src/connection.js';
import { ConfigError } from '../../src/errors.js';

const PRIMARY = 'postgres://app:s3cret@primary.internal:5432/ideas';

function issues(run: () => unknown): { variable: string; message: string }[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('replica configuration', () => {
  it('has no replicas and the documented routing defaults when DATABASE_REPLICA_URLS is unset', () => {
    expect(loadConfig({ DATABASE_URL: PRIMARY }).replicas).toEqual({
      connections: [],
      maxLagMs: 5000,
      readYourWritesMs: 2000,
      checkIntervalMs: 1000,
    });
  });

  it('reads DATABASE_REPLICA_URLS separated by commas or spaces, and the routing variables', () => {
    const { replicas } = loadConfig({
      DATABASE_URL: PRIMARY,
      DATABASE_REPLICA_URLS:
        'postgres://app:r1@replica-1:5432/ideas, postgres://app@replica-2:5433/ideas postgresql://reader@replica-3/ideas',
      DATABASE_REPLICA_MAX_LAG_MS: '800',
      DATABASE_REPLICA_READ_YOUR_WRITES_MS: '0',
      DATABASE_REPLICA_CHECK_INTERVAL_MS: '250',
    });
    expect(replicas!.connections).toEqual([
      { host: 'replica-1', port: 5432, user: 'app', database: 'ideas' },
      { host: 'replica-2', port: 5433, user: 'app', database: 'ideas' },
      { host: 'replica-3', port: 5432, user: 'reader', database: 'ideas' },
    ]);
    expect(replicas!.connections[0]!.password).toBe('r1');
    expect(replicas).toMatchObject({ maxLagMs: 800, readYourWritesMs: 0, checkIntervalMs: 250 });
  });

  it("a replica URL without a password uses the primary's credentials when it names the same user", () => {
    const { config } = resolveConfig({
      env: { DATABASE_URL: PRIMARY },
      replicas: ['postgres://app@replica-1/ideas', 'postgres://reader@replica-2/ideas'],
    });
    expect(config.replicas!.connections[0]!.password).toBe('s3cret');
    expect(config.replicas!.connections[1]!.password).toBeUndefined();
    expect(JSON.stringify(config.replicas)).not.toContain('s3cret');
  });

  it('createDatabase({ replicas }) takes URLs or the settings, over the environment, and names a bad one', () => {
    const env = { DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: 'postgres://app@from-env/ideas', DATABASE_REPLICA_MAX_LAG_MS: '900' };
    expect(resolveConfig({ env }).config.replicas!.connections.map((c) => c.host)).toEqual(['from-env']);
    const { config } = resolveConfig({ env, replicas: { urls: ['postgres://app@given/ideas'], readYourWritesMs: 5000 } });
    expect(config.replicas).toMatchObject({ maxLagMs: 900, readYourWritesMs: 5000, checkIntervalMs: 1000 });
    expect(config.replicas!.connections.map((c) => c.host)).toEqual(['given']);
    expect(resolveConfig({ env, replicas: [] }).config.replicas!.connections).toEqual([]);
    expect(issues(() => resolveConfig({ env, replicas: { urls: ['mysql://x'] } }))).toEqual([
      { variable: 'replicas[0]', message: expect.stringContaining('postgres://') },
    ]);
    expect(issues(() => resolveConfig({ env, replicas: { maxLag: 5 } as never }))).toEqual([
      { variable: 'replicas.maxLag', message: 'is not a replica setting' },
    ]);
    expect(issues(() => resolveConfig({ env, replicas: { checkIntervalMs: 10 } }))[0]!.variable).toBe('replicas.checkIntervalMs');
  });

  it('refuses a DATABASE_REPLICA_URLS entry that is not a URL (a multi-host URL split at its comma) and bad routing values', () => {
    expect(
      issues(() =>
        loadConfig({
          DATABASE_URL: PRIMARY,
          DATABASE_REPLICA_URLS: 'postgres://a:5432,b:5432/ideas',
          DATABASE_REPLICA_CHECK_INTERVAL_MS: '5',
        }),
      ),
    ).toEqual([
      { variable: 'DATABASE_REPLICA_CHECK_INTERVAL_MS', message: expect.stringContaining('at least 50') },
      { variable: 'DATABASE_REPLICA_URLS', message: expect.stringContaining('multi-host URL is not supported') },
    ]);
  });

  describe('libpq multi-host URLs and target_session_attrs', () => {
    it('refuses a multi-host primary URL, saying to name the primary alone and list standbys in DATABASE_REPLICA_URLS', () => {
      for (const url of ['postgres://app@h1:5432,h2:5433/ideas', 'postgres://app@h1,h2/ideas', 'postgres:///ideas?host=h1,h2']) {
        const [issue, ...rest] = issues(() => loadConfig({ DATABASE_URL: url }));
        expect(rest).toEqual([]);
        expect(issue).toEqual({ variable: 'DATABASE_URL', message: expect.stringContaining('lists several hosts') });
        expect(issue!.message).toContain('DATABASE_REPLICA_URLS');
      }
    });

    it('accepts any, read-write and primary on the primary URL, and keeps the last two to enforce', () => {
      expect(loadConfig({ DATABASE_URL: `${PRIMARY}?target_session_attrs=any` }).connection.targetSessionAttrs).toBeUndefined();
      for (const attrs of ['read-write', 'primary'] as const) {
        const { connection } = loadConfig({ DATABASE_URL: `${PRIMARY}?target_session_attrs=${attrs}` });
        expect(connection.targetSessionAttrs).toBe(attrs);
        expect(toConnectionUrl(connection)).toContain(`target_session_attrs=${attrs}`);
      }
    });

    it('refuses target_session_attrs asking for a standby on the primary URL, and for the primary on a replica URL', () => {
      for (const attrs of ['read-only', 'standby', 'prefer-standby']) {
        expect(issues(() => loadConfig({ DATABASE_URL: `${PRIMARY}?target_session_attrs=${attrs}` }))).toEqual([
          { variable: 'DATABASE_URL', message: expect.stringContaining('list standbys in DATABASE_REPLICA_URLS') },
        ]);
        const { replicas } = loadConfig({
          DATABASE_URL: PRIMARY,
          DATABASE_REPLICA_URLS: `postgres://app@r/ideas?target_session_attrs=${attrs}`,
        });
        expect(replicas!.connections).toHaveLength(1);
      }
      expect(
        issues(() =>
          loadConfig({ DATABASE_URL: PRIMARY, DATABASE_REPLICA_URLS: 'postgres://app@r/ideas?target_session_attrs=read-write' }),
        ),
      ).toEqual([{ variable: 'DATABASE_REPLICA_URLS[0]', message: expect.stringContaining('the primary goes in DATABASE_URL') }]);
      expect(issues(() => loadConfig({ DATABASE_URL: `${PRIMARY}?target_session_attrs=master` }))).toEqual([
        { variable: 'DATABASE_URL', message: expect.stringContaining("not one of libpq's values") },
      ]);
    });
  });
});
