/** Which node a statement opens a routed lease on (src/db/replicas.ts), and WAL positions compared as numbers. */
import { describe, expect, it } from 'vitest';
import { parseLsn, routeOf } from '../../src/db/replicas.js';

describe('routeOf', () => {
  it('sends plain reads to a standby', () => {
    for (const text of [
      'select "id", "title" from "business_ideas" where "id" = $1',
      '  SELECT 1',
      '/* a comment */ select count(*) from users',
      'with recent as (select * from evaluations) select * from recent',
    ]) {
      expect(routeOf(text), text).toBe('read');
    }
  });

  it('sends writes, locking reads, writing functions, transaction control and cursors to the primary', () => {
    for (const text of [
      'insert into users (email) values ($1)',
      'update business_ideas set title = $1',
      'delete from users where id = $1',
      'with claimed as (update evaluations set status = $1 returning *) select * from claimed',
      'select * from evaluations where id = $1 for update',
      'select * from evaluations for no key update skip locked',
      'select * from users for share',
      "select nextval('seq')",
      "select set_config('app.user_id', $1, true)",
      'select pg_advisory_xact_lock(1)',
      'select * into copy_of_users from users',
      'begin',
      'start transaction isolation level serializable',
      'commit',
      'set statement_timeout = 0',
    ]) {
      expect(routeOf(text), text).toBe('write');
    }
    expect(routeOf(undefined)).toBe('write');
  });

  it('sends a transaction opened read only to a standby', () => {
    expect(routeOf('start transaction read only')).toBe('read-transaction');
    expect(routeOf('start transaction isolation level repeatable read read only')).toBe('read-transaction');
    expect(routeOf('begin read only')).toBe('read-transaction');
    expect(routeOf('start transaction read write')).toBe('write');
  });
});

describe('parseLsn', () => {
  it('orders WAL positions across the 32-bit boundary', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('1/0')).toBeGreaterThan(parseLsn('0/FFFFFFFF'));
    expect(parseLsn('A/10') - parseLsn('A/0')).toBe(16n);
  });
});
