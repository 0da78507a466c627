/**
 * Property-based tests (fast-check) of the audit log reader and of the transaction entry points:
 * `auditLog.listAuditEntries` (owner path only) with hostile filters and forged cursors, and
 * `database.transaction(executor, fn, options)` and `database.withUser(userId, fn, options)` with
 * hostile options (`isolationLevel`, `maxAttempts`, `actorId`), hostile user ids, null options,
 * and callbacks that write, read or throw. Besides the contract every property checks (a valid
 * result or a documented typed error; a refused call wrote nothing; test/support/arbitraries.ts):
 * an invalid option or user id is a ValidationError naming it before the callback runs; null
 * options behave like absent ones; the callback's own error comes back as it was thrown, with its
 * write rolled back; a committed write is audited with the actor the options asked for (the
 * `actorId`, else the `withUser` user, else none).
 *
 * Runs: `PROPERTY_RUNS` cases per property (default 1000; `PROPERTY_RUNS=10000` for the long run),
 * seeded from `PROPERTY_SEED` (default 20261125); `PROPERTY_SURVEY=1` lists every failure class.
 *
 * ```sh
 * PROPERTY_RUNS=10000 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx vitest run test/properties
 * ```
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import * as auditLog from '../../src/repositories/audit-log.js';
import type { Executor } from '../../src/repositories/executor.js';
import * as users from '../../src/repositories/users.js';
import { charLength, hasLoneSurrogate } from '../../src/validation/common.js';
import {
  checkProperty,
  cursorOf,
  cursorVerdict,
  expectAuditEntry,
  expectPage,
  expectThat,
  field,
  fieldsOf,
  hostile,
  hostileNumber,
  hostileString,
  inputObject,
  lower,
  optional,
  pathOf,
  PROPERTY_TIMEOUT_MS,
  recipe,
  ref,
  show,
  uuidVerdict,
  type Case,
  type FieldVerdict,
  type Spec,
  type World,
} from '../support/arbitraries.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();
const TABLES = ['users', 'business_ideas', 'evaluations', 'agent_results'] as const;
const ISOLATION_LEVELS = ['read uncommitted', 'read committed', 'repeatable read', 'serializable'];

const rowIdArg = fc.oneof(
  { weight: 3, arbitrary: fc.constant(recipe('mainUser')) },
  { weight: 1, arbitrary: ref('user', ['live', 'deleted']) },
  { weight: 1, arbitrary: ref('idea', ['draft', 'submitted']) },
  { weight: 1, arbitrary: ref('evaluation', ['pending', 'completed']) },
  { weight: 1, arbitrary: ref('agentResult', ['pending', 'completed']) },
  { weight: 1, arbitrary: fc.uuid() },
);

/** Transaction options: usually well formed, each option sometimes absent, null or hostile. */
const transactionOptions: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 8,
    arbitrary: inputObject({
      isolationLevel: optional(
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...ISOLATION_LEVELS) },
          { weight: 1, arbitrary: fc.constantFrom('snapshot', 'SERIALIZABLE', 'serializable; DROP TABLE users', 'read  committed', '') },
          { weight: 1, arbitrary: hostileString },
        ),
      ),
      maxAttempts: optional(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0, 21, 1.5, -1, 1e9), hostileNumber)),
      actorId: optional(
        fc.oneof(
          { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
          {
            weight: 2,
            arbitrary: fc.constantFrom(
              'admin:42',
              'system:billing',
              ' padded ',
              'x'.repeat(200),
              'x'.repeat(201),
              '   ',
              '',
              '\u{1F680}'.repeat(100),
              '\u{1F680}'.repeat(101),
              'nul\u0000actor',
              'lone \uD800 actor',
            ),
          },
          { weight: 1, arbitrary: hostileString },
        ),
      ),
    }),
  },
  { weight: 1, arbitrary: hostile },
);

type Behaviour = 'write' | 'read' | 'throw';
const behaviour = fc.constantFrom<Behaviour>('write', 'read', 'throw');

/** The contract's verdicts on the transaction options. */
function optionVerdicts(options: unknown): FieldVerdict[] {
  const o = fieldsOf(options);
  if (!o || Array.isArray(options)) return [];
  const verdict = (name: string, v: FieldVerdict['verdict'], why: string): FieldVerdict => ({ name, verdict: v, why });
  const present = (name: string, value: unknown, check: (v: unknown) => FieldVerdict) =>
    value === undefined ? verdict(name, 'valid', 'absent') : value === null ? verdict(name, 'either', 'null') : check(value);
  return [
    present('isolationLevel', o.isolationLevel, (v) =>
      typeof v === 'string' && ISOLATION_LEVELS.includes(v)
        ? verdict('isolationLevel', 'valid', v)
        : verdict('isolationLevel', 'invalid', `not an isolation level PostgreSQL has (${show(v)})`),
    ),
    present('maxAttempts', o.maxAttempts, (v) =>
      Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 20
        ? verdict('maxAttempts', 'valid', String(v))
        : verdict('maxAttempts', 'invalid', `not a whole number from 1 to 20 (${show(v)})`),
    ),
    present('actorId', o.actorId, (v) => {
      if (typeof v !== 'string') return verdict('actorId', 'invalid', `not a string (${typeof v})`);
      if (v.trim() === '' || v.includes('\u0000') || charLength(v) > 200)
        return verdict('actorId', 'invalid', 'empty, NUL, or longer than 200 characters');
      if (hasLoneSurrogate(v) || v.length > 200)
        return verdict('actorId', 'either', 'a lone surrogate, or 200 characters in more than 200 UTF-16 units');
      return verdict('actorId', 'valid', 'a short string');
    }),
  ];
}

/**
 * A call of `transaction` or `withUser` whose callback updates the fixture owner's name (and may
 * then throw), or only reads; `actor` is who the audit log must record for the write.
 */
function transactionCase(
  world: World,
  run: (fn: (trx: Executor<'user' | 'owner'>) => Promise<unknown>) => Promise<unknown>,
  options: unknown,
  what: Behaviour,
  actor: unknown,
  inputs: readonly unknown[],
): Case<unknown> {
  let ran = false;
  const token = { token: Math.random() };
  const failure = new Error('the callback failed on purpose');
  const name = `Transaction ${Date.now().toString(36)} ${Math.random().toString(36).slice(2, 8)}`;
  const fn = async (trx: Executor<'user' | 'owner'>) => {
    ran = true;
    if (what === 'read') await users.getUser(trx, world.mainUser.id);
    else await users.updateUser(trx, world.mainUser.id, { name });
    if (what === 'throw') throw failure;
    return token;
  };
  const o = fieldsOf(options);
  return {
    call: () => run(fn),
    inputs,
    ownError: what === 'throw' ? failure : undefined,
    nullOptions: options === null,
    refused: (error) => {
      expectThat(!(error instanceof ValidationError) || !ran, 'the callback ran although the call was refused', () => show(error));
    },
    check: async (result) => {
      expectThat(result === token && ran, 'the transaction returned something else than its callback', () => show(result));
      if (what !== 'write') return;
      const entry = await t.db
        .selectFrom('auditLog')
        .select(['actor', 'operation', 'newRow'])
        .where('tableName', '=', 'users')
        .where('rowId', '=', world.mainUser.id)
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      const expectedActor = typeof o?.actorId === 'string' ? o.actorId : actor;
      expectThat(entry?.newRow?.name === name && entry.operation === 'update', 'the committed write was not audited', () => show(entry));
      expectThat(entry.actor === expectedActor, 'the write was audited with another actor', () =>
        show({ recorded: entry.actor, expected: expectedActor }),
      );
    },
  };
}

describe('audit log and transactions: hostile inputs and options', () => {
  it(
    'auditLog.listAuditEntries',
    () =>
      checkProperty(
        t,
        'auditLog.listAuditEntries',
        fc.tuple(
          pathOf('owner'),
          inputObject({
            tableName: field(fc.constantFrom(...TABLES)),
            rowId: field(rowIdArg),
            limit: field(fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1000, 1001))),
            cursor: optional(cursorOf('sequence')),
          }),
        ),
        (_world, [input]) => {
          const o = fieldsOf(input);
          return {
            call: (db) => auditLog.listAuditEntries(db, input as never),
            inputs: [input],
            readOnly: true,
            required: [{ name: 'input', value: input }],
            fields: o ? [cursorVerdict(o.cursor, 'sequence')] : [],
            check: (page) => {
              expectPage(page, expectAuditEntry, o!.limit, 100);
              const after =
                typeof o!.cursor === 'string' ? (JSON.parse(Buffer.from(o!.cursor, 'base64url').toString('utf8')) as { n: number }).n : -1;
              expectThat(
                page.items.every(
                  (e, i) =>
                    e.tableName === o!.tableName &&
                    e.rowId === lower(o!.rowId) &&
                    e.id > after &&
                    (i === 0 || page.items[i - 1]!.id < e.id),
                ),
                'listAuditEntries listed other entries',
                () => show({ filters: o, items: page.items.map((e) => [e.id, e.tableName, e.rowId]) }),
              );
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'database.transaction',
    () =>
      checkProperty(t, 'database.transaction', fc.tuple(pathOf('owner'), transactionOptions, behaviour), (world, [options, what]) => ({
        ...transactionCase(world, (fn) => t.database.transaction(t.db, fn, options as never), options, what, null, [options]),
        fields: optionVerdicts(options),
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'database.withUser',
    () =>
      checkProperty(
        t,
        'database.withUser',
        fc.tuple(
          pathOf('owner'),
          fc.oneof(
            { weight: 4, arbitrary: fc.constant(recipe('mainUser')) },
            { weight: 1, arbitrary: fc.constant(recipe('mainUser', { form: 'upper' })) },
            { weight: 2, arbitrary: ref('user', ['live', 'deleted']) },
            { weight: 1, arbitrary: fc.uuid() },
            { weight: 3, arbitrary: hostile },
          ),
          transactionOptions,
          behaviour,
        ),
        (world, [userId, options, what]) => ({
          ...transactionCase(world, (fn) => t.database.withUser(userId as never, fn, options as never), options, what, userId, [
            userId,
            options,
          ]),
          positional: ['userId'],
          required: [{ name: 'userId', value: userId }],
          fields: [uuidVerdict('userId', userId), ...optionVerdicts(options)],
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );
});
