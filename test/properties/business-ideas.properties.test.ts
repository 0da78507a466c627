/**
 * Property-based tests (fast-check) of every business ideas repository function that takes
 * input, with hostile inputs mixed with real fixture rows (ideas in every status, soft-deleted
 * ones, their owner), through the owner, worker and user paths. Besides the contract every
 * property checks (a valid result or a documented typed error; a refused call wrote nothing;
 * test/support/arbitraries.ts), `listIdeasByUser` checks its instants (`createdFrom`,
 * `createdTo`: invalid Dates, Dates outside PostgreSQL's timestamptz range, impossible calendar
 * dates are ValidationErrors naming the field) and its cursor (anything the library did not make,
 * impossible dates included, is a ValidationError naming `cursor`), and null options of
 * `listIdeasByUser` and `setIdeaStatus` behave like absent ones.
 *
 * Runs: `PROPERTY_RUNS` cases per function (default 1000; `PROPERTY_RUNS=10000` for the long run),
 * seeded from `PROPERTY_SEED` (default 20261125); `PROPERTY_SURVEY=1` lists every failure class.
 *
 * ```sh
 * PROPERTY_RUNS=10000 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx vitest run test/properties
 * ```
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as ideas from '../../src/repositories/business-ideas.js';
import { IDEA_STATUSES } from '../../src/validation/business-ideas.js';
import {
  arg,
  checkProperty,
  cursorOf,
  cursorVerdict,
  dateSpec,
  expectIdea,
  expectNewestFirst,
  expectPage,
  expectShape,
  expectThat,
  field,
  fieldsOf,
  hostileString,
  idOf,
  ideaStatus,
  inputObject,
  instantVerdict,
  isoString,
  lower,
  optional,
  options,
  pathOf,
  PROPERTY_TIMEOUT_MS,
  recipe,
  ref,
  show,
  validDescription,
  validIdempotencyKey,
  validLimit,
  validTitle,
  type FieldVerdict,
} from '../support/arbitraries.js';
import { useTestDatabase } from '../support/database.js';

const t = useTestDatabase();
const paths = pathOf('owner', 'worker', 'user');

/** A user id: mostly the fixture world's owner of every idea, else other users and hostile values. */
const userIdArg = arg(
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(recipe('mainUser')) },
    { weight: 2, arbitrary: ref('user', ['live', 'deleted']) },
    { weight: 1, arbitrary: fc.uuid() },
  ),
);
const instant = fc.oneof(dateSpec, isoString);
const search = fc.oneof(
  fc.constantFrom('property', 'fixture idea', '"fixture idea"', 'fixture -host', 'host or fixture', 'clinic'),
  hostileString,
);

async function storedIdea(id: string) {
  return t.db
    .selectFrom('businessIdeas')
    .select(['title', 'description', 'status', 'userId', 'deletedAt'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A status change returned the idea in `to`, and that is what the table holds. */
async function expectStatus(idea: unknown, id: unknown, to: string): Promise<void> {
  expectIdea(idea);
  const row = await storedIdea(idea.id);
  expectThat(idea.id === lower(id) && idea.status === to && row?.status === to, `the idea did not move to ${to}`, () =>
    show({ idea, row }),
  );
}

const transitions = [
  ['submitIdea', ideas.submitIdea, 'submitted'],
  ['startIdeaEvaluation', ideas.startIdeaEvaluation, 'evaluating'],
  ['completeIdea', ideas.completeIdea, 'completed'],
  ['archiveIdea', ideas.archiveIdea, 'archived'],
] as const;

describe('business ideas: every function that takes input, with hostile inputs', () => {
  it(
    'createIdea',
    () =>
      checkProperty(
        t,
        'businessIdeas.createIdea',
        fc.tuple(
          paths,
          userIdArg,
          inputObject({ title: field(validTitle), description: field(validDescription), idempotencyKey: optional(validIdempotencyKey) }),
        ),
        (_world, [userId, input]) => ({
          call: (db) => ideas.createIdea(db, userId as never, input as never),
          inputs: [userId, input],
          positional: ['userId'],
          required: [{ name: 'input', value: input }],
          check: async (idea) => {
            expectIdea(idea);
            const i = fieldsOf(input)!;
            const row = await storedIdea(idea.id);
            // A retry with an idempotency key returns the idea the key made, in whatever status it is now.
            const draft = i.idempotencyKey !== undefined || (idea.status === 'draft' && row?.status === 'draft');
            expectThat(
              idea.userId === lower(userId) && idea.title === i.title && idea.description === i.description && draft,
              'createIdea returned other values',
              () => show({ idea, input }),
            );
            expectThat(row?.title === i.title && row.description === i.description, 'createIdea stored other values', () =>
              show({ row, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'getIdea',
    () =>
      checkProperty(t, 'businessIdeas.getIdea', fc.tuple(paths, idOf('idea')), (_world, [id]) => ({
        call: (db) => ideas.getIdea(db, id as never),
        inputs: [id],
        readOnly: true,
        check: async (idea) => {
          expectIdea(idea);
          const row = await storedIdea(idea.id);
          expectThat(idea.id === lower(id) && row?.deletedAt === null, 'getIdea returned another or a deleted idea', () =>
            show({ idea, row }),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'listIdeasByUser',
    () =>
      checkProperty(
        t,
        'businessIdeas.listIdeasByUser',
        fc.tuple(
          paths,
          userIdArg,
          options({
            status: optional(fc.oneof(ideaStatus, fc.array(ideaStatus, { minLength: 1, maxLength: 3 }))),
            createdFrom: optional(instant),
            createdTo: optional(instant),
            search: optional(search),
            limit: field(validLimit),
            cursor: optional(cursorOf('newest')),
          }),
        ),
        (_world, [userId, input]) => {
          const o = fieldsOf(input);
          const from = o ? instantVerdict('createdFrom', o.createdFrom) : undefined;
          const until = o ? instantVerdict('createdTo', o.createdTo) : undefined;
          const fromTime = from?.verdict === 'valid' ? from.time : undefined;
          const toTime = until?.verdict === 'valid' ? until.time : undefined;
          // createdTo before createdFrom is refused (under createdTo).
          const to: FieldVerdict | undefined =
            fromTime !== undefined && toTime !== undefined && toTime < fromTime
              ? { name: 'createdTo', verdict: 'invalid', why: 'before createdFrom' }
              : until;
          return {
            call: (db) => ideas.listIdeasByUser(db, userId as never, input as never),
            inputs: [userId, input],
            positional: ['userId'],
            readOnly: true,
            fields: [from, to, o ? cursorVerdict(o.cursor, 'newest') : undefined],
            nullOptions: input === null,
            ...(input === null ? { absent: (db) => ideas.listIdeasByUser(db, userId as never) } : {}),
            check: (page) => {
              expectPage(page, expectIdea, o?.limit, 20);
              expectNewestFirst(page.items);
              expectThat(
                page.items.every((idea) => idea.userId === lower(userId)),
                "listIdeasByUser listed another user's idea",
                () => show(page.items),
              );
              const statuses = typeof o?.status === 'string' ? [o.status] : Array.isArray(o?.status) ? (o.status as unknown[]) : undefined;
              if (statuses) {
                expectThat(
                  page.items.every((idea) => statuses.includes(idea.status)),
                  'listIdeasByUser ignored the status filter',
                  () => show({ statuses, got: page.items.map((i) => i.status) }),
                );
              }
              // created_at has microseconds, a Date milliseconds: allow the truncation.
              for (const idea of page.items) {
                const at = idea.createdAt.getTime();
                expectThat(fromTime === undefined || at >= fromTime - 1, 'listIdeasByUser ignored createdFrom', () =>
                  show({ createdAt: idea.createdAt, fromTime }),
                );
                expectThat(toTime === undefined || at < toTime + 1, 'listIdeasByUser ignored createdTo', () =>
                  show({ createdAt: idea.createdAt, toTime }),
                );
              }
            },
          };
        },
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'updateIdeaContent',
    () =>
      checkProperty(
        t,
        'businessIdeas.updateIdeaContent',
        fc.tuple(paths, idOf('idea'), inputObject({ title: field(validTitle, 6), description: field(validDescription, 6) })),
        (_world, [id, input]) => ({
          call: (db) => ideas.updateIdeaContent(db, id as never, input as never),
          inputs: [id, input],
          positional: ['id'],
          required: [{ name: 'input', value: input }],
          check: async (idea) => {
            expectIdea(idea);
            const i = fieldsOf(input)!;
            const row = await storedIdea(idea.id);
            const expected = {
              title: i.title === undefined ? idea.title : i.title,
              description: i.description === undefined ? idea.description : i.description,
            };
            expectThat(
              idea.id === lower(id) &&
                idea.status === 'draft' &&
                idea.title === expected.title &&
                idea.description === expected.description,
              'updateIdeaContent returned other values',
              () => show({ idea, input }),
            );
            expectThat(
              row?.title === expected.title && row.description === expected.description,
              'updateIdeaContent stored other values',
              () => show({ row, input }),
            );
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'setIdeaStatus',
    () =>
      checkProperty(
        t,
        'businessIdeas.setIdeaStatus',
        fc.tuple(paths, idOf('idea'), arg(ideaStatus), options({ from: field(fc.array(ideaStatus, { maxLength: 4 })) })),
        (_world, [id, to, input]) => ({
          call: (db) => ideas.setIdeaStatus(db, id as never, to as never, input as never),
          inputs: [id, to, input],
          positional: ['id'],
          nullOptions: input === null,
          check: async (idea) => {
            expectThat(
              typeof to === 'string' && (IDEA_STATUSES as readonly string[]).includes(to),
              'setIdeaStatus accepted an unknown status',
              () => show(to),
            );
            await expectStatus(idea, id, to);
          },
        }),
      ),
    PROPERTY_TIMEOUT_MS,
  );

  for (const [name, fn, to] of transitions) {
    it(
      name,
      () =>
        checkProperty(t, `businessIdeas.${name}`, fc.tuple(paths, idOf('idea')), (_world, [id]) => ({
          call: (db) => fn(db, id as never),
          inputs: [id],
          check: (idea) => expectStatus(idea, id, to),
        })),
      PROPERTY_TIMEOUT_MS,
    );
  }

  it(
    'softDeleteIdea',
    () =>
      checkProperty(t, 'businessIdeas.softDeleteIdea', fc.tuple(paths, idOf('idea')), (_world, [id]) => ({
        call: (db) => ideas.softDeleteIdea(db, id as never),
        inputs: [id],
        check: async (result) => {
          expectThat(result === undefined, 'softDeleteIdea returned a value', () => show(result));
          const row = await storedIdea(String(lower(id)));
          expectThat(row?.deletedAt != null, 'softDeleteIdea did not delete the idea', () => show(row));
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'ideaStatsForUser',
    () =>
      checkProperty(t, 'businessIdeas.ideaStatsForUser', fc.tuple(paths, userIdArg), (_world, [userId]) => ({
        call: (db) => ideas.ideaStatsForUser(db, userId as never),
        inputs: [userId],
        readOnly: true,
        check: (stats) => {
          const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
          expectShape(stats, 'idea stats', {
            counts: (v) => fieldsOf(v) !== undefined,
            total: count,
            averageDescriptionLength: (v) => v === null || (typeof v === 'number' && v >= 0),
          });
          expectShape(stats.counts, 'idea stats counts', Object.fromEntries(IDEA_STATUSES.map((s) => [s, count])));
          const sum = Object.values(stats.counts).reduce((a, b) => a + b, 0);
          expectThat(
            sum === stats.total && (stats.total === 0) === (stats.averageDescriptionLength === null),
            'inconsistent idea stats',
            () => show(stats),
          );
        },
      })),
    PROPERTY_TIMEOUT_MS,
  );
});
