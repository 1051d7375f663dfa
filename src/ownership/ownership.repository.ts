import { sql } from 'kysely';
import type { BookLine } from './ownership.blocks.js';
import type { DbOrTrx } from '../platform/db.js';
import type { InteractionKind } from '../feedback/feedback.table.js';
import type { DisputeStatus, OwnershipEventKind } from './ownership.table.js';
import type { Role } from './ownership.rules.js';

/** Queries for ownership: plain functions, `db` or `trx` first. */

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

export interface DisputeRow {
  id: string;
  customerId: string;
  claimantMemberId: number;
  ownerMemberId: number | null;
  reason: string | null;
  status: DisputeStatus;
  openedAt: Date;
  decidedAt: Date | null;
  decidedBySlackId: string | null;
  channelId: string | null;
  messageTs: string | null;
  escalatedAt: Date | null;
}

type RawDispute = {
  id: string;
  customer_id: string;
  claimant_member_id: number;
  owner_member_id: number | null;
  reason: string | null;
  status: DisputeStatus;
  opened_at: Date | string;
  decided_at: Date | string | null;
  decided_by_slack_id: string | null;
  channel_id: string | null;
  message_ts: string | null;
  escalated_at: Date | string | null;
};

function toDispute(r: RawDispute): DisputeRow {
  return {
    id: r.id,
    customerId: r.customer_id,
    claimantMemberId: r.claimant_member_id,
    ownerMemberId: r.owner_member_id,
    reason: r.reason,
    status: r.status,
    openedAt: new Date(r.opened_at),
    decidedAt: r.decided_at ? new Date(r.decided_at) : null,
    decidedBySlackId: r.decided_by_slack_id,
    channelId: r.channel_id,
    messageTs: r.message_ts,
    escalatedAt: r.escalated_at ? new Date(r.escalated_at) : null,
  };
}

export async function findOpenDispute(db: DbOrTrx, customerId: string): Promise<DisputeRow | undefined> {
  const r = await db.selectFrom('disputes').selectAll().where('customer_id', '=', customerId).where('status', '=', 'open').executeTakeFirst();
  return r ? toDispute(r) : undefined;
}

export async function getDispute(db: DbOrTrx, id: string, opts: { lock?: boolean } = {}): Promise<DisputeRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  let q = db.selectFrom('disputes').selectAll().where('id', '=', id);
  if (opts.lock) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  return r ? toDispute(r) : undefined;
}

/**
 * Open a dispute. The partial unique index allows one open dispute per
 * customer: a second one is not inserted (undefined comes back) instead of
 * failing the transaction.
 */
export async function insertDispute(
  trx: DbOrTrx,
  d: { customerId: string; claimantMemberId: number; ownerMemberId: number | null; reason: string | null; channelId: string | null; at: Date },
): Promise<DisputeRow | undefined> {
  const r = await trx
    .insertInto('disputes')
    .values({
      customer_id: d.customerId,
      claimant_member_id: d.claimantMemberId,
      owner_member_id: d.ownerMemberId,
      reason: d.reason,
      channel_id: d.channelId,
      opened_at: d.at,
    })
    .onConflict((oc) => oc.column('customer_id').where('status', '=', 'open').doNothing())
    .returningAll()
    .executeTakeFirst();
  return r ? toDispute(r) : undefined;
}

/** open → approved | rejected | superseded | expired, only if still open. */
export async function closeDispute(
  trx: DbOrTrx,
  id: string,
  status: Exclude<DisputeStatus, 'open'>,
  bySlackId: string | null,
  at: Date,
): Promise<boolean> {
  const r = await trx
    .updateTable('disputes')
    .set({ status, decided_at: at, decided_by_slack_id: bySlackId })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function setDisputeMessage(db: DbOrTrx, id: string, channelId: string, ts: string): Promise<void> {
  await db.updateTable('disputes').set({ channel_id: channelId, message_ts: ts }).where('id', '=', id).where('message_ts', 'is', null).execute();
}

/** Open disputes opened at or before `cutoff` and not yet escalated. */
export async function listEscalationDue(db: DbOrTrx, cutoff: Date, limit = 500): Promise<DisputeRow[]> {
  const rows = await db
    .selectFrom('disputes')
    .selectAll()
    .where('status', '=', 'open')
    .where('escalated_at', 'is', null)
    .where('opened_at', '<=', cutoff)
    .orderBy('opened_at')
    .limit(limit)
    .execute();
  return rows.map(toDispute);
}

/** Mark escalated once: only the caller that flips escalated_at gets true. */
export async function markEscalated(trx: DbOrTrx, id: string, at: Date): Promise<boolean> {
  const r = await trx
    .updateTable('disputes')
    .set({ escalated_at: at })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .where('escalated_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export interface SideEvidence {
  slackUserId: string;
  total: number;
  byKind: Partial<Record<InteractionKind, number>>;
  last: Date | null;
}

/** Each side's logged interactions with the customer since `since`. */
export async function interactionEvidence(db: DbOrTrx, customerId: string, slackUserIds: string[], since: Date): Promise<Map<string, SideEvidence>> {
  const out = new Map<string, SideEvidence>(slackUserIds.map((id) => [id, { slackUserId: id, total: 0, byKind: {}, last: null }]));
  if (slackUserIds.length === 0) return out;
  const rows = await db
    .selectFrom('interactions')
    .select((eb) => ['author_slack_id', 'kind', eb.fn.countAll<string>().as('n'), eb.fn.max('occurred_at').as('last')])
    .where('customer_id', '=', customerId)
    .where('author_slack_id', 'in', slackUserIds)
    .where('occurred_at', '>=', since)
    .groupBy(['author_slack_id', 'kind'])
    .execute();
  for (const r of rows) {
    const side = out.get(r.author_slack_id);
    if (!side) continue;
    const n = Number(r.n);
    side.total += n;
    side.byKind[r.kind] = (side.byKind[r.kind] ?? 0) + n;
    const last = r.last ? new Date(r.last as Date | string) : null;
    if (last && (!side.last || last > side.last)) side.last = last;
  }
  return out;
}

/** The latest interaction a member logged with the customer, any time. */
export async function lastTouchBy(db: DbOrTrx, customerId: string, slackUserId: string): Promise<{ kind: InteractionKind; at: Date } | null> {
  const r = await db
    .selectFrom('interactions')
    .select(['kind', 'occurred_at'])
    .where('customer_id', '=', customerId)
    .where('author_slack_id', '=', slackUserId)
    .orderBy('occurred_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? { kind: r.kind, at: new Date(r.occurred_at) } : null;
}

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
  const r = await db.selectFrom('ownership_events').select((eb) => eb.fn.countAll<string>().as('n')).where('customer_id', '=', customerId).executeTakeFirstOrThrow();
  return Number(r.n);
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

/** Where a dispute's team-channel messages were posted (from the outbox), for chat.update. */
export async function listDisputeMessages(db: DbOrTrx, disputeId: string): Promise<{ id: string; status: string; channel: string | null; ts: string | null; blocks: unknown[]; text: string }[]> {
  const rows = await db
    .selectFrom('notifications')
    .select(['id', 'status', 'posted_channel_id', 'message_ts', 'payload'])
    .where('kind', '=', 'dispute')
    .where('dedupe_key', 'like', `dispute-${disputeId}-post%`)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    channel: r.posted_channel_id,
    ts: r.message_ts,
    blocks: (r.payload as { blocks?: unknown[] }).blocks ?? [],
    text: (r.payload as { text: string }).text,
  }));
}

/** A not-yet-posted dispute message gets the decided version, so stale buttons are never posted. */
export async function rewritePendingNotification(db: DbOrTrx, id: string, payload: { text: string; blocks: unknown[] }): Promise<void> {
  await db
    .updateTable('notifications')
    .set({ payload: JSON.stringify(payload), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
}

/** Open disputes a member is part of (claimant or owner), and for managers those of their team. */
export async function listOpenDisputesFor(
  db: DbOrTrx,
  member: { memberId: number; teamId: number; role: Role },
  limit = 10,
): Promise<{ id: string; customerId: string; customerName: string; claimantSlackId: string; ownerSlackId: string | null; openedAt: Date; escalatedAt: Date | null; role: 'claimant' | 'owner' | 'decider' }[]> {
  const rows = await db
    .selectFrom('disputes as d')
    .innerJoin('customers as c', 'c.id', 'd.customer_id')
    .innerJoin('members as cm', 'cm.id', 'd.claimant_member_id')
    .leftJoin('members as om', 'om.id', 'd.owner_member_id')
    .select(['d.id', 'd.customer_id', 'c.name', 'cm.slack_user_id as claimant', 'om.slack_user_id as owner', 'd.opened_at', 'd.escalated_at', 'd.claimant_member_id', 'd.owner_member_id'])
    .where('d.status', '=', 'open')
    .where((eb) => {
      const mine = [eb('d.claimant_member_id', '=', member.memberId), eb('d.owner_member_id', '=', member.memberId)];
      if (member.role === 'admin') return eb.or([...mine, eb.lit(true)]);
      if (member.role === 'manager') return eb.or([...mine, eb('c.team_id', '=', member.teamId), eb.and([eb('c.team_id', 'is', null), eb('cm.team_id', '=', member.teamId)])]);
      return eb.or(mine);
    })
    .orderBy('d.opened_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    customerId: r.customer_id,
    customerName: r.name,
    claimantSlackId: r.claimant,
    ownerSlackId: r.owner,
    openedAt: new Date(r.opened_at),
    escalatedAt: r.escalated_at ? new Date(r.escalated_at) : null,
    role: r.claimant_member_id === member.memberId ? 'claimant' : r.owner_member_id === member.memberId ? 'owner' : 'decider',
  }));
}
