/** Queue helpers shared by the evaluation tests. */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../src/schema/generated.js';

/** Moves a run's lease `seconds` into the past, as if its worker stalled. */
export function expireLease(db: Kysely<DB>, id: string, seconds = 1) {
  return db
    .updateTable('evaluations')
    .set({ leaseExpiresAt: sql<Date>`now() - make_interval(secs => ${seconds})` })
    .where('id', '=', id)
    .execute();
}
