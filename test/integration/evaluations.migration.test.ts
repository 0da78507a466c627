/**
 * The lease migration on a database that already has work in flight: runs that were analyzing
 * before leases existed get an expired lease, so the next claimNext picks them up; down removes
 * the columns again.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { createMigrator } from '../../src/migrate/index.js';
import { claimNext } from '../../src/repositories/evaluations.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const LEASES = '20261125090100';
let testDb: TestDatabase;
let database: Database;

beforeAll(async () => {
  testDb = await createTestDatabase({ migrated: false });
  database = createDatabase({ connectionString: testDb.url, env: {}, pool: { max: 2 } });
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

it('gives runs already analyzing an expired lease, which claimNext then picks up; down drops the columns', async () => {
  const migrator = createMigrator({ connection: testDb.connection });
  await migrator.up({ to: '20261125090000' });
  const { rows } = await database.pool.query<{ id: string }>(`
    WITH u AS (INSERT INTO users (email, password_hash, name) VALUES ('m@example.com', 'hash', 'M') RETURNING id),
         i AS (INSERT INTO business_ideas (user_id, title, description, status)
               SELECT id, 'Migration idea', repeat('A description long enough. ', 3), 'evaluating' FROM u RETURNING id)
    INSERT INTO evaluations (business_idea_id, status, started_at) SELECT id, 'analyzing', now() - interval '1 hour' FROM i RETURNING id`);
  const inFlight = rows[0]!.id;

  await migrator.up({ to: LEASES });
  const row = await database.db
    .selectFrom('evaluations')
    .select(['claimedBy', 'leaseExpiresAt'])
    .where('id', '=', inFlight)
    .executeTakeFirstOrThrow();
  expect(row.claimedBy).toBe('unknown (claimed before leases)');
  expect(row.leaseExpiresAt!.getTime()).toBeLessThanOrEqual(Date.now());
  // The repository is today's: the rest of the schema first (the run keeps its expired lease).
  await migrator.up();
  await expect(claimNext(database.owner, 'worker-after-upgrade')).resolves.toMatchObject({
    id: inFlight,
    claimedBy: 'worker-after-upgrade',
    attempt: 1,
  });

  await migrator.down({ to: '20261125090000' });
  const { rows: columns } = await database.pool.query(
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'evaluations' AND column_name IN ('claimed_by', 'lease_expires_at')`,
  );
  expect(columns).toEqual([]);
});
