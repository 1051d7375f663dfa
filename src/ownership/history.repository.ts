import type { DbOrTrx } from '../platform/db.js';
import type { OwnershipEventKind } from './ownership.table.js';

/** Queries for `/customer history`: the ownership events of one customer. */

export interface HistoryEvent {
  id: string;
  kind: OwnershipEventKind;
  fromSlackId: string | null;
  toSlackId: string | null;
  actorSlackId: string | null;
  reason: string | null;
  at: Date;
}

/** Ownership events, newest first. */
export async function listOwnershipEvents(db: DbOrTrx, customerId: string, limit: number): Promise<HistoryEvent[]> {
  const rows = await db
    .selectFrom('ownership_events as e')
    .leftJoin('members as f', 'f.id', 'e.from_member_id')
    .leftJoin('members as t', 't.id', 'e.to_member_id')
    .select(['e.id', 'e.kind', 'e.actor_slack_id', 'e.reason', 'e.created_at', 'f.slack_user_id as from_slack_id', 't.slack_user_id as to_slack_id'])
    .where('e.customer_id', '=', customerId)
    .orderBy('e.created_at', 'desc')
    .orderBy('e.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    fromSlackId: r.from_slack_id,
    toSlackId: r.to_slack_id,
    actorSlackId: r.actor_slack_id,
    reason: r.reason,
    at: new Date(r.created_at),
  }));
}

export async function countOwnershipEvents(db: DbOrTrx, customerId: string): Promise<number> {
  const r = await db
    .selectFrom('ownership_events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('customer_id', '=', customerId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
