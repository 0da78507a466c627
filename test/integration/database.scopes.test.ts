/**
 * The calling paths of createDatabase() (src/repositories/executor.ts): every repository call
 * names who it acts as. Through a role the chosen path cannot work for, the owner and worker paths
 * refuse at their first query with a ConfigError instead of silently seeing nothing; the paths
 * that can work do; and repository calls compose inside one transaction.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { ConfigError } from '../../src/errors.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import * as users from '../../src/repositories/users.js';
import { useTestDatabase } from '../support/database.js';
import {
  createSubmittedIdea,
  createTestIdea,
  createTestUser,
  fakePasswordHash,
  ideaDescription,
  uniqueEmail,
} from '../support/factories.js';
import { useRoleConnections } from '../support/roles.js';

const t = useTestDatabase();
const connectAs = useRoleConnections(t);

describe('the owner path', () => {
  it('runs repository calls outside a transaction, and composes them inside one: all or nothing', async () => {
    const user = await users.createUser(t.db, { email: uniqueEmail(), name: 'Owner Path', passwordHash: fakePasswordHash() });
    expect(await users.getUser(t.database.owner, user.id)).toEqual(user);

    const email = uniqueEmail();
    const failure = await t.database
      .transaction(t.database.owner, async (trx) => {
        const created = await users.createUser(trx, { email, name: 'Rolled Back', passwordHash: fakePasswordHash() });
        await businessIdeas.createIdea(trx, created.id, { title: 'Valid title', description: ideaDescription() });
        await businessIdeas.createIdea(trx, created.id, { title: 'x', description: ideaDescription() }); // invalid title
      })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ name: 'ValidationError' });
    await expect(users.getUserByEmail(t.database.anonymous, email)).rejects.toMatchObject({ name: 'NotFoundError' });
  });
});

describe('through the application role', () => {
  let app: Database;
  beforeAll(async () => {
    app = await connectAs('ai_validation_app');
  });

  it('signs up and logs in on the anonymous path, then acts as the user', async () => {
    const email = uniqueEmail();
    const user = await users.createUser(app.anonymous, { email, name: 'Anonymous Path', passwordHash: fakePasswordHash() });
    expect((await users.getUserCredentials(app.anonymous, email)).id).toBe(user.id);
    const idea = await app.withUser(user.id, (trx) =>
      businessIdeas.createIdea(trx, user.id, { title: 'Scoped idea', description: ideaDescription() }),
    );
    expect(await app.withUser(user.id, (trx) => businessIdeas.getIdea(trx, idea.id))).toEqual(idea);
  });

  it('refuses the owner and worker paths at their first query, naming the path and what to use instead', async () => {
    const user = await createTestUser(t.db);
    const idea = await createTestIdea(t.db, user.id, { status: 'submitted' });
    for (const path of ['owner', 'worker'] as const) {
      const error = await businessIdeas.getIdea(app[path], idea.id).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues).toEqual([
        {
          variable: `database.${path}`,
          message: expect.stringMatching(/is filtered by row-level security on agent_results, business_ideas, evaluations.*withUser/),
        },
      ]);
      // Remembered: the second call is refused the same way.
      await expect(businessIdeas.getIdea(app[path], idea.id)).rejects.toBeInstanceOf(ConfigError);
    }
    // The refusal held no connection: the pool serves the user path as before.
    expect(await app.withUser(user.id, (trx) => businessIdeas.getIdea(trx, idea.id))).toMatchObject({ id: idea.id });
  });

  it('refuses a transaction on the owner path too', async () => {
    await expect(app.transaction(app.owner, (trx) => users.listUsers(trx))).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('through the worker role', () => {
  it('works on the worker path and refuses the owner path', async () => {
    const worker = await connectAs('ai_validation_worker');
    const idea = await createSubmittedIdea(t.db);
    const queued = await evaluations.createEvaluation(t.db, idea.id, { priority: 'high' });
    const claimed = await evaluations.claimNext(worker.worker, 'worker-scopes');
    expect(claimed?.id).toBe(queued.id);
    await expect(evaluations.getEvaluation(worker.owner, queued.id)).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('as the owner role', () => {
  it('may take the worker path (the owner sees every row)', async () => {
    const idea = await createSubmittedIdea(t.db);
    const evaluation = await evaluations.createEvaluation(t.db, idea.id);
    expect(await evaluations.getEvaluation(t.database.worker, evaluation.id)).toMatchObject({ id: evaluation.id });
  });
});
