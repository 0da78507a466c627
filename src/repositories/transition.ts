/**
 * Status changes are single conditional UPDATEs (`... WHERE id = $1 AND status IN (...)`), so of
 * two concurrent changes exactly one wins. When one matches nothing, `transitioned` reads the row
 * once to say why: it does not exist, its status does not allow the change, another worker holds
 * it, or it changed concurrently.
 */
import { InvalidTransitionError, NotFoundError } from '../errors.js';
import type { Kysely } from 'kysely';
import type { DB } from '../schema/generated.js';
import { compiled } from './compiled.js';

/** The status of the row (and its holder, for evaluations), as read after a change matched nothing. */
const lookups = {
  businessIdeas: {
    entity: 'business idea',
    // Soft-deleted ideas do not exist for any change.
    read: compiled((db, id: string) =>
      db
        .selectFrom('businessIdeas')
        .select('businessIdeas.status')
        .where('businessIdeas.id', '=', id)
        .where('businessIdeas.deletedAt', 'is', null),
    ),
  },
  evaluations: {
    entity: 'evaluation',
    read: compiled((db, id: string) => db.selectFrom('evaluations').select(['status', 'claimedBy']).where('id', '=', id)),
  },
  agentResults: {
    entity: 'agent result',
    read: compiled((db, id: string) => db.selectFrom('agentResults').select('status').where('id', '=', id)),
  },
} as const;

/** What a conditional UPDATE asked for. */
export interface Transition {
  table: keyof typeof lookups;
  id: string;
  /** The status it moves to; absent for changes that keep the status (content edits). */
  to?: string;
  /** The statuses it may move from. */
  from: readonly string[];
  /** The worker that must hold the row (evaluations' `claimed_by`), when the change requires one. */
  holder?: string | undefined;
  /** Why a row in another status may not change; default "only from <from>". */
  reason?: string;
}

/**
 * The row a conditional UPDATE ... RETURNING gave back, or, when it matched nothing, the
 * `NotFoundError` or `InvalidTransitionError` that says why.
 *
 * @example
 * ```ts
 * const row = await db.updateTable('agentResults').set({ status: 'running' }).where('id', '=', id).where('status', '=', 'pending').returningAll().executeTakeFirst();
 * return transitioned(db, row, { table: 'agentResults', id, to: 'running', from: ['pending'] });
 * ```
 */
export async function transitioned<R>(db: Kysely<DB>, row: R | undefined, change: Transition): Promise<R> {
  if (row !== undefined) return row;
  const { entity, read } = lookups[change.table];
  const current: { status: string; claimedBy?: string | null } | undefined = await read.first(db, change.id);
  if (!current) throw new NotFoundError(entity, change.id);
  const reason = !change.from.includes(current.status)
    ? (change.reason ?? `only from ${change.from.join(' or ')}`)
    : change.holder !== undefined && current.claimedBy !== change.holder
      ? 'another worker holds it'
      : 'it changed concurrently';
  throw new InvalidTransitionError({ entity, id: change.id, from: current.status, to: change.to ?? current.status, reason });
}
