import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { withCredentials, type PasswordProvider } from '../../src/connection.js';
import { connectionOptions } from '../../src/connection.js';

const provider: PasswordProvider = async () => 'from-Provider-1';

describe('withCredentials', () => {
  it('the password option beats the configured password', () => {
    const { connection } = loadConfig({ DATABASE_URL: 'postgres://app:from-Url-1@db/ideas' });
    const result = withCredentials(connection, { password: 'from-Option-1' });
    expect(result.connection.password).toBe('from-Option-1');
    expect(connection.password).toBe('from-Url-1'); // a copy: the input is untouched
  });

  it('a configured password beats the provider, and says the provider was ignored', () => {
    const { connection } = loadConfig({ PGHOST: 'db', PGPASSWORD: 'from-Env-1' });
    const result = withCredentials(connection, { passwordProvider: provider });
    expect(result.ignoredProvider).toBe(true);
    expect(result.connection.password).toBe('from-Env-1');
    expect(result.connection.passwordProvider).toBeUndefined();
    expect(connectionOptions(result.connection).password).toBe('from-Env-1');
  });

  it('the provider is used when nothing else supplies a password, and hidden like a password', () => {
    const { connection } = loadConfig({ DATABASE_URL: 'postgres://app@db/ideas', DATABASE_SSL: 'require' });
    const result = withCredentials(connection, { passwordProvider: provider });
    expect(result.ignoredProvider).toBe(false);
    expect(result.connection.passwordProvider).toBe(provider);
    expect(connectionOptions(result.connection).password).toBe(provider);
    expect(result.connection.ssl).toEqual({ mode: 'require' });
    expect(Object.keys(result.connection)).toEqual(['host', 'port', 'user', 'database', 'ssl']);
    expect(inspect(result.connection)).not.toContain('passwordProvider');
  });

  it('keeps the password out of JSON and inspect', () => {
    const { connection } = loadConfig({ DATABASE_URL: 'postgres://app@db/ideas' });
    const result = withCredentials(connection, { password: 'from-Option-2' });
    expect(JSON.stringify(result.connection)).not.toContain('from-Option-2');
    expect(inspect(result.connection, { showHidden: false })).not.toContain('from-Option-2');
  });
});
