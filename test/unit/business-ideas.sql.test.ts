/** The SQL every business ideas repository function sends, committed as test/unit/__sql__/business_ideas.sql. */
import { expect, it } from 'vitest';
import * as ideas from '../../src/repositories/business-ideas.js';
import { encodeCursor } from '../../src/validation/cursor.js';
import { captureSql, sqlDocument } from '../support/sql-capture.js';

const ID = '0b6e2a3c-6f1d-4c2e-9a53-2f8f1d0c7e11';
const USER = '5d7b8f0e-2c4a-4e6b-8a1d-3f9c0b2e4d6a';
const DESCRIPTION = 'Independent physiotherapy clinics lose hours every week to phone scheduling and no-shows.';
const CURSOR = encodeCursor({ createdAt: '2026-11-25T09:00:00.123456Z', id: ID });

it('compiles every business ideas query as committed in __sql__/business_ideas.sql', async () => {
  const { sqlOf } = captureSql();
  const entries = {
    createIdea: await sqlOf((db) => ideas.createIdea(db, USER, { title: 'Clinic scheduler', description: DESCRIPTION })),
    'createIdea (idempotency key; then, when nothing was inserted, the first idea)': await sqlOf((db) =>
      ideas.createIdea(db, USER, { title: 'Clinic scheduler', description: DESCRIPTION, idempotencyKey: 'request-1' }),
    ),
    'createIdea (invalid input)': await sqlOf((db) => ideas.createIdea(db, USER, { title: 'ab', description: 'too short' })),
    getIdea: await sqlOf((db) => ideas.getIdea(db, ID)),
    listIdeasByUser: await sqlOf((db) => ideas.listIdeasByUser(db, USER)),
    'listIdeasByUser (every filter, cursor)': await sqlOf((db) =>
      ideas.listIdeasByUser(db, USER, {
        status: ['submitted', 'evaluating'],
        createdFrom: '2026-11-01T00:00:00Z',
        createdTo: new Date('2026-12-01T00:00:00Z'),
        search: '"clinic scheduling" -dental',
        limit: 10,
        cursor: CURSOR,
      }),
    ),
    'updateIdeaContent (then, when nothing matched, the status lookup)': await sqlOf((db) =>
      ideas.updateIdeaContent(db, ID, { title: 'Clinic scheduler for physiotherapists' }),
    ),
    'setIdeaStatus (evaluating, idempotent)': await sqlOf((db) =>
      ideas.setIdeaStatus(db, ID, 'evaluating', { from: ['submitted', 'evaluating'] }),
    ),
    submitIdea: await sqlOf((db) => ideas.submitIdea(db, ID)),
    startIdeaEvaluation: await sqlOf((db) => ideas.startIdeaEvaluation(db, ID)),
    completeIdea: await sqlOf((db) => ideas.completeIdea(db, ID)),
    archiveIdea: await sqlOf((db) => ideas.archiveIdea(db, ID)),
    softDeleteIdea: await sqlOf((db) => ideas.softDeleteIdea(db, ID)),
    ideaStatsForUser: await sqlOf((db) => ideas.ideaStatsForUser(db, USER)),
  };
  // User text only ever travels as a parameter.
  for (const text of Object.values(entries)) expect(text).not.toMatch(/clinic|physiotherapy|dental/i);
  // The search uses the indexed expression (business_ideas_search_idx) and websearch syntax.
  expect(entries['listIdeasByUser (every filter, cursor)']).toContain(
    `business_idea_search_vector("business_ideas"."title", "business_ideas"."description") @@ websearch_to_tsquery('english', $`,
  );
  await expect(sqlDocument(entries)).toMatchFileSnapshot('./__sql__/business_ideas.sql');
});
