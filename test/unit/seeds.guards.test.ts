/** The development-database guard of db:reset, db:clean and seed. */
import { describe, expect, it } from 'vitest';
import { assertDevelopmentTarget, isDevelopmentDatabaseName } from '../../seeds/guards.js';
import { SeedError } from '../../seeds/errors.js';

describe('isDevelopmentDatabaseName', () => {
  it.each([
    'app_dev',
    'dev',
    'shop_development',
    'test',
    'app_test_2',
    'orders-local',
    'ai_validation_platform',
    'ai_validation_platform_test',
    'dl_t_abc_1',
    'testing_orders',
  ])('accepts %s', (name) => expect(isDevelopmentDatabaseName(name)).toBe(true));
  it.each([
    'postgres',
    'app',
    'production',
    'app_prod',
    'devices',
    'latest',
    'contest',
    'ai_validation_platform_prod',
    'localhost_db',
    'xdl_t',
  ])('refuses %s', (name) => expect(isDevelopmentDatabaseName(name)).toBe(false));
});

describe('assertDevelopmentTarget', () => {
  const refusal = (fn: () => void): SeedError => {
    try {
      fn();
    } catch (error) {
      return error as SeedError;
    }
    throw new Error('expected a refusal');
  };

  it('refuses NODE_ENV=production, even for a development name, and names the database and --force', () => {
    const error = refusal(() =>
      assertDevelopmentTarget({ action: 'db:clean', database: 'app_dev', env: { NODE_ENV: 'production' }, force: false }),
    );
    expect(error).toBeInstanceOf(SeedError);
    expect(error.code).toBe('SEED_GUARD');
    expect(error.message).toMatch(/db:clean.*"app_dev".*NODE_ENV is production.*--force/);
  });

  it('refuses a name that does not look like development, unless the name check is off', () => {
    const error = refusal(() => assertDevelopmentTarget({ action: 'db:reset', database: 'orders', env: {}, force: false }));
    expect(error.message).toMatch(/db:reset.*"orders".*does not look like a development or test database.*--force/);
    expect(() => assertDevelopmentTarget({ action: 'seed', database: 'orders', env: {}, force: false, checkName: false })).not.toThrow();
  });

  it('lets --force through, and development names outside production', () => {
    expect(() =>
      assertDevelopmentTarget({ action: 'db:clean', database: 'orders', env: { NODE_ENV: 'production' }, force: true }),
    ).not.toThrow();
    expect(() =>
      assertDevelopmentTarget({ action: 'db:clean', database: 'orders_dev', env: { NODE_ENV: 'development' }, force: false }),
    ).not.toThrow();
  });
});
