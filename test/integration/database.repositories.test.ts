/**
 * createDatabase() exposes every repository bound to its pool, and the unbound functions compose
 * inside a caller's transaction.
 */
import { describe, expect, it } from 'vitest';
import * as agentResults from '../../src/repositories/agent-results.js';
import * as auditLog from '../../src/repositories/audit-log.js';
import * as businessIdeas from '../../src/repositories/business-ideas.js';
import * as evaluations from '../../src/repositories/evaluations.js';
import * as users from '../../src/repositories/users.js';
import { useTestDatabase } from '../support/database.js';
import { fakePasswordHash, ideaDescription, uniqueEmail } from '../support/factories.js';

const t = useTestDatabase();

describe('createDatabase repositories', () => {
  it('binds every exported function of every repository, and nothing else', () => {
    const modules = { users, businessIdeas, evaluations, agentResults, auditLog };
    for (const [name, module] of Object.entries(modules) as [keyof typeof modules, object][]) {
      const functions = Object.entries(module).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort();
      expect(functions.length).toBeGreaterThan(0);
      expect(Object.keys(t.database[name]).sort()).toEqual(functions);
    }
  });

  it('runs bound functions on the pool', async () => {
    const user = await t.database.users.createUser({ email: uniqueEmail(), name: 'Bound Caller', passwordHash: fakePasswordHash() });
    expect(await t.database.users.getUser(user.id)).toEqual(user);
  });

  it('composes unbound functions in one transaction: all or nothing', async () => {
    const email = uniqueEmail();
    const failure = await t.database
      .transaction(async (trx) => {
        const user = await users.createUser(trx, { email, name: 'Rolled Back', passwordHash: fakePasswordHash() });
        await businessIdeas.createIdea(trx, user.id, { title: 'Valid title', description: ideaDescription() });
        await businessIdeas.createIdea(trx, user.id, { title: 'x', description: ideaDescription() }); // invalid title
      })
      .catch((e: unknown) => e);
    expect(failure).toMatchObject({ name: 'ValidationError' });
    await expect(t.database.users.getUserByEmail(email)).rejects.toMatchObject({ name: 'NotFoundError' });
  });
});
