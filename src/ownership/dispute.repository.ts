import type { InteractionKind } from '../feedback/feedback.table.js';
import type { DbOrTrx } from '../platform/db.js';
import type { Role } from './ownership.rules.js';
import type { DisputeStatus } from './ownership.table.js';

/**
 * Queries for ownership disputes: the dispute rows (one open per customer),
 * the messages posted for them (rows of the notification outbox), and the
 * evidence each side brings (their logged interactions). Plain functions,
 * `db` or `trx` first.
 */

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
export async function closeDispute(trx: DbOrTrx, id: string, status: Exclude<DisputeStatus, 'open'>, bySlackId: string | null, at: Date): Promise<boolean> {
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

/** Where a dispute's team-channel messages were posted (from the outbox), for chat.update. */
export async function listDisputeMessages(
  db: DbOrTrx,
  disputeId: string,
): Promise<{ id: string; status: string; channel: string | null; ts: string | null; blocks: unknown[]; text: string }[]> {
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
): Promise<
  {
    id: string;
    customerId: string;
    customerName: string;
    claimantSlackId: string;
    ownerSlackId: string | null;
    openedAt: Date;
    escalatedAt: Date | null;
    role: 'claimant' | 'owner' | 'decider';
  }[]
> {
  const rows = await db
    .selectFrom('disputes as d')
    .innerJoin('customers as c', 'c.id', 'd.customer_id')
    .innerJoin('members as cm', 'cm.id', 'd.claimant_member_id')
    .leftJoin('members as om', 'om.id', 'd.owner_member_id')
    .select([
      'd.id',
      'd.customer_id',
      'c.name',
      'cm.slack_user_id as claimant',
      'om.slack_user_id as owner',
      'd.opened_at',
      'd.escalated_at',
      'd.claimant_member_id',
      'd.owner_member_id',
    ])
    .where('d.status', '=', 'open')
    .where((eb) => {
      const mine = [eb('d.claimant_member_id', '=', member.memberId), eb('d.owner_member_id', '=', member.memberId)];
      if (member.role === 'admin') return eb.or([...mine, eb.lit(true)]);
      if (member.role === 'manager')
        return eb.or([...mine, eb('c.team_id', '=', member.teamId), eb.and([eb('c.team_id', 'is', null), eb('cm.team_id', '=', member.teamId)])]);
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
