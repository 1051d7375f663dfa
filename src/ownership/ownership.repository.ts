import { sql } from 'kysely';
import type { BookLine } from './ownership.blocks.js';
import type { DbOrTrx } from '../platform/db.js';
import type { InteractionKind } from '../feedback/feedback.table.js';
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

export async function countBook(db: DbOrTrx, memberId: number): Promise<number> {
  const r = await db.selectFrom('customers').select((eb) => eb.fn.countAll<string>().as('n')).where('owner_member_id', '=', memberId).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A member's accounts, riskiest first (lowest health; unscored last), one page. */
export async function listBook(db: DbOrTrx, memberId: number, opts: { offset: number; limit: number }): Promise<{ total: number; accounts: BookLine[] }> {
  const [count, rows] = await Promise.all([
    db.selectFrom('customers').select((eb) => eb.fn.countAll<string>().as('n')).where('owner_member_id', '=', memberId).executeTakeFirstOrThrow(),
    db
      .selectFrom('customers as c')
      .leftJoin('customer_scores as s', 's.customer_id', 'c.id')
      .select(['c.id', 'c.name', 'c.arr', 'c.currency', 'c.renewal_date', 's.health', 's.band', 's.tier'])
      .select((eb) =>
        eb
          .selectFrom('interactions as i')
          .select(sql<string>`i.kind || '|' || to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`.as('touch'))
          .whereRef('i.customer_id', '=', 'c.id')
          .orderBy('i.occurred_at', 'desc')
          .limit(1)
          .as('last_touch'),
      )
      .where('c.owner_member_id', '=', memberId)
      .orderBy(sql`s.health ASC NULLS LAST`)
      .orderBy('c.name')
      .orderBy('c.id')
      .offset(opts.offset)
      .limit(opts.limit)
      .execute(),
  ]);
  return {
    total: Number(count.n),
    accounts: rows.map((r) => {
      const [kind, at] = r.last_touch ? (r.last_touch as string).split('|') : [];
      return {
        id: r.id,
        name: r.name,
        arr: r.arr === null ? null : Number(r.arr),
        currency: r.currency,
        renewalDate: r.renewal_date,
        health: r.health,
        band: r.band,
        tier: r.tier,
        lastTouch: kind && at ? { kind: kind as InteractionKind, at: new Date(at) } : null,
      };
    }),
  };
}

