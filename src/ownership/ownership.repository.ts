import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { OwnershipEventKind } from './ownership.table.js';

/**
 * The owner-change writes every ownership flow shares: lock the customer row,
 * change its owner conditionally, record the event. Plain functions, `db` or
 * `trx` first.
 */

export interface LockedAccount {
  id: string;
  name: string;
  ownerMemberId: number | null;
  ownerSince: Date | null;
  teamId: number | null;
  renewalDate: string | null;
  arr: number | null;
  currency: string | null;
}

/**
 * Read the customer row and lock it for the rest of the transaction: every
 * change of owner on one account goes through this lock, so claims,
 * approvals, assignments and releases on it run one after another.
 */
export async function lockAccount(trx: DbOrTrx, customerId: string): Promise<LockedAccount | undefined> {
  const r = await trx
    .selectFrom('customers')
    .select(['id', 'name', 'owner_member_id', 'owner_since', 'team_id', 'renewal_date', 'arr', 'currency'])
    .where('id', '=', customerId)
    .forUpdate()
    .executeTakeFirst();
  if (!r) return undefined;
  return {
    id: r.id,
    name: r.name,
    ownerMemberId: r.owner_member_id,
    ownerSince: r.owner_since ? new Date(r.owner_since) : null,
    teamId: r.team_id,
    renewalDate: r.renewal_date,
    arr: r.arr === null ? null : Number(r.arr),
    currency: r.currency,
  };
}

/**
 * Conditional owner change: applies only if the owner is still `expected`,
 * so even without the row lock a stale writer changes nothing.
 */
export async function changeOwner(
  trx: DbOrTrx,
  change: { customerId: string; expected: number | null; next: number | null; teamId: number | null; now: Date },
): Promise<boolean> {
  const r = await trx
    .updateTable('customers')
    .set({ owner_member_id: change.next, owner_since: change.next === null ? null : change.now, team_id: change.teamId, updated_at: change.now })
    .where('id', '=', change.customerId)
    .where(sql<boolean>`owner_member_id IS NOT DISTINCT FROM ${change.expected}`)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function insertOwnershipEvent(
  trx: DbOrTrx,
  e: {
    customerId: string;
    kind: OwnershipEventKind;
    from: number | null;
    to: number | null;
    actorSlackId: string;
    reason: string | null;
    disputeId?: string | null;
    at: Date;
  },
): Promise<string> {
  const r = await trx
    .insertInto('ownership_events')
    .values({
      customer_id: e.customerId,
      kind: e.kind,
      from_member_id: e.from,
      to_member_id: e.to,
      actor_slack_id: e.actorSlackId,
      reason: e.reason,
      dispute_id: e.disputeId ?? null,
      created_at: e.at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}
