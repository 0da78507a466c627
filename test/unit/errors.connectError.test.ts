import { describe, expect, it } from 'vitest';
import {
  connectError,
  ConnectionError,
  DataLayerError,
  isSessionFatal,
  mapDatabaseError,
  QueryError,
  TimeoutError,
} from '../../src/errors.js';

const target = 'postgres://app@db:5432/ideas';

describe('connectError', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.1:5432' }, 'connection refused: is the server running'],
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db' }, 'host not found'],
    [{ code: '28P01', message: 'password authentication failed for user "app"' }, 'password authentication failed'],
    [{ code: '3D000', message: 'database "ideas" does not exist' }, 'the database does not exist'],
    [{ code: '53300', message: 'sorry, too many clients already' }, 'the server has no connection slots left'],
    [{ code: 'XX000', message: 'something odd' }, 'something odd'],
  ])('maps %o to a ConnectionError naming the server', (cause, reason) => {
    const error = connectError(Object.assign(new Error(cause.message), cause), target, 5000);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain(`could not connect to ${target}: ${reason}`);
    expect(error.cause).toMatchObject(cause);
  });

  it('maps a connection timeout to a TimeoutError naming the setting', () => {
    const error = connectError(new Error('timeout exceeded when trying to connect'), target, 750);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe(`could not connect to ${target} within 750 ms (DATABASE_CONNECTION_TIMEOUT_MS)`);
  });

  it('passes our own errors through', () => {
    const own = new DataLayerError('X', 'already mapped');
    expect(connectError(own, target, 1)).toBe(own);
  });
});

describe('isSessionFatal', () => {
  it.each([
    [{ severity: 'FATAL', code: '57P01' }, true],
    [{ code: '57P01' }, true],
    [{ code: '08006' }, true],
    [{ message: 'Connection terminated unexpectedly' }, true],
    [{ message: 'Client has encountered a connection error and is not queryable' }, true],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' }), true],
    [Object.assign(new Error('write EPIPE'), { code: 'EPIPE', errno: -32, syscall: 'write' }), true],
    [{ code: 'ETIMEDOUT', message: 'connect ETIMEDOUT' }, true],
    [{ message: 'Query read timeout' }, true],
    [{ severity: 'ERROR', code: '57014', message: 'canceling statement due to statement timeout' }, false],
    [{ severity: 'ERROR', code: '23505', message: 'duplicate key value' }, false],
    [{ severity: 'ERROR', code: '40001', message: 'Connection terminated is just text here' }, false],
    [undefined, false],
  ])('%o -> %s', (error, fatal) => {
    expect(isSessionFatal(error)).toBe(fatal);
  });
});

describe('mapDatabaseError', () => {
  it('maps socket errors to ConnectionError, never to a QueryError with a made-up SQLSTATE', () => {
    for (const [code, syscall] of [
      ['ECONNRESET', 'read'],
      ['EPIPE', 'write'],
      ['ETIMEDOUT', 'read'],
    ] as const) {
      const mapped = mapDatabaseError(Object.assign(new Error(`${syscall} ${code}`), { code, syscall }));
      expect(mapped, code).toBeInstanceOf(ConnectionError);
      expect(mapped).not.toBeInstanceOf(QueryError);
    }
  });

  it('reads a SQLSTATE only from a server error', () => {
    expect(mapDatabaseError(Object.assign(new Error('boom'), { code: 'XX000', severity: 'ERROR' }))).toMatchObject({ sqlState: 'XX000' });
    const unsafe = new RangeError('int8 value 9007199254740993 exceeds Number.MAX_SAFE_INTEGER');
    expect(mapDatabaseError(unsafe)).toBe(unsafe);
  });
});
