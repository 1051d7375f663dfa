import { claimNotification, type NewNotification } from '../alerts/outbox.repository.js';
import { scheduleDelivery } from '../alerts/outbox.service.js';
import { findActor, findMemberById, findTeam, listAdmins, listTeamManagers, type MemberInfo } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import type { DbOrTrx } from '../platform/db.js';
import { assignedToYou, takenFromYou } from './assign.blocks.js';
import {
  claimantToldOfDecision,
  claimSuperseded,
  decidedDisputeMessage,
  disputePostMessage,
  ownerToldOfClaim,
  ownerToldOfDecision,
  type DisputeOutcome,
  type DisputePost,
} from './dispute.blocks.js';
import type { Notice } from './ownership.blocks.js';
import {
  closeDispute,
  findOpenDispute,
  getDispute,
  insertDispute,
  interactionEvidence,
  lastTouchBy,
  listDisputeMessages,
  listEscalationDue,
  markEscalated,
  rewritePendingNotification,
  setDisputeMessage,
  type DisputeRow,
} from './dispute.repository.js';
import { changeOwner, insertOwnershipEvent, lockAccount, type LockedAccount } from './ownership.repository.js';
import {
  daysUntil,
  decideAssign,
  decideClaim,
  decideDisputeDecision,
  decideRelease,
  claimStillValid,
  escalationCutoff,
  personalChannel,
} from './ownership.rules.js';

/**
 * Ownership orchestration. Every change of owner runs in one transaction that
 * first locks the customer row (SELECT … FOR UPDATE), so claims, approvals,
 * assignments and releases on one account are serialised; the owner update is
 * also conditional on the owner read under the lock. Notices are claimed in
 * the outbox inside the same transaction (they exist exactly when the change
 * does) and handed to the delivery queue after commit.
 */

export const EVIDENCE_DAYS = 90;
const DAY_MS = 86_400_000;

interface TxResult<R> {
  result: R;
  notificationIds: { id: string; channel_id: string }[];
  /** Dispute messages to update in Slack after commit. */
  messageUpdates: MessageUpdate[];
}

interface MessageUpdate {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

/** Collects the outbox rows claimed inside a transaction. */
class Outbox {
  readonly ids: { id: string; channel_id: string }[] = [];
  constructor(private readonly trx: DbOrTrx) {}
  async add(n: NewNotification): Promise<void> {
    const id = await claimNotification(this.trx, n);
    if (id) this.ids.push({ id, channel_id: n.channel });
  }
  async notice(dedupeKey: string, member: { slackUserId: string; alertChannelId: string | null }, body: Notice, customerId: string, kind = 'ownership'): Promise<void> {
    await this.add({ dedupeKey, kind, channel: personalChannel(member), text: body.text, blocks: body.blocks, customerId });
  }
}

async function afterCommit<R>(ctx: AppContext, tx: TxResult<R>): Promise<R> {
  await scheduleDelivery(ctx, tx.notificationIds);
  for (const u of tx.messageUpdates) {
    try {
      await ctx.slack.updateMessage({ channel: u.channel, ts: u.ts, text: u.text, blocks: u.blocks });
    } catch (error) {
      // The decision stands; only the old buttons stay visible (a click then says it is decided).
      ctx.logger.warn({ channel: u.channel, err: (error as Error).message }, 'could not update a dispute message');
    }
  }
  return tx.result;
}

export async function managersOf(ctx: AppContext, teamId: number | null): Promise<string[]> {
  return teamId === null ? [] : listTeamManagers(ctx.readDb, teamId);
}

async function teamName(db: DbOrTrx, teamId: number | null): Promise<string | null> {
  return teamId === null ? null : ((await findTeam(db, teamId))?.name ?? null);
}

// ── claim ─────────────────────────────────────────────────────────────────

export type ClaimResult =
  | { kind: 'not_found' }
  | { kind: 'other_team'; customerName: string; teamId: number; teamName: string }
  | { kind: 'already_owner'; customerName: string }
  | { kind: 'dispute_open'; customerName: string; claimantSlackId: string; openedAt: Date; mine: boolean }
  | { kind: 'taken'; customerName: string; customerId: string }
  | {
      kind: 'dispute';
      customerName: string;
      disputeId: string;
      because: 'owned' | 'freeze';
      ownerSlackId: string | null;
      channelId: string | null;
      daysToRenewal: number | null;
    };

async function openDisputeResult(db: DbOrTrx, customerName: string, d: DisputeRow, actor: MemberInfo): Promise<ClaimResult> {
  const claimant = await findMemberById(db, d.claimantMemberId);
  return { kind: 'dispute_open', customerName, claimantSlackId: claimant?.slackUserId ?? '', openedAt: d.openedAt, mine: d.claimantMemberId === actor.memberId };
}

/** `/customer claim`: take an unowned account at once, or open a dispute. */
export async function claimAccount(ctx: AppContext, actor: MemberInfo, customerId: string, reason: string | null): Promise<ClaimResult> {
  const now = ctx.clock.now();
  const { freezeDays } = ctx.config.settings.renewals;
  let tx: TxResult<ClaimResult>;
  try {
    tx = await ctx.db.transaction().execute(async (trx): Promise<TxResult<ClaimResult>> => {
      const outbox = new Outbox(trx);
      const done = (result: ClaimResult): TxResult<ClaimResult> => ({ result, notificationIds: outbox.ids, messageUpdates: [] });
      const account = await lockAccount(trx, customerId);
      if (!account) return done({ kind: 'not_found' });
      const open = await findOpenDispute(trx, customerId);
      const decision = decideClaim({ actor, account, openDispute: open ?? null, now, freezeDays });
      switch (decision.kind) {
        case 'other_team':
          return done({ kind: 'other_team', customerName: account.name, teamId: account.teamId!, teamName: (await teamName(trx, account.teamId)) ?? 'another team' });
        case 'already_owner':
          return done({ kind: 'already_owner', customerName: account.name });
        case 'dispute_open':
          return done(await openDisputeResult(trx, account.name, open!, actor));
        case 'take': {
          const teamId = account.teamId ?? actor.teamId;
          if (!(await changeOwner(trx, { customerId, expected: null, next: actor.memberId, teamId, now }))) {
            throw new Error('owner changed under the row lock'); // cannot happen while the lock is held
          }
          await insertOwnershipEvent(trx, { customerId, kind: 'claim', from: null, to: actor.memberId, actorSlackId: actor.slackUserId, reason, at: now });
          return done({ kind: 'taken', customerName: account.name, customerId });
        }
        case 'dispute': {
          const teamId = account.teamId ?? actor.teamId;
          const team = await findTeam(trx, teamId);
          const dispute = await insertDispute(trx, {
            customerId,
            claimantMemberId: actor.memberId,
            ownerMemberId: account.ownerMemberId,
            reason,
            channelId: team?.channelId ?? null,
            at: now,
          });
          if (!dispute) {
            const other = await findOpenDispute(trx, customerId);
            return done(other ? await openDisputeResult(trx, account.name, other, actor) : { kind: 'not_found' });
          }
          const owner = account.ownerMemberId === null ? null : await findMemberById(trx, account.ownerMemberId);
          const post = await buildDisputePost(ctx, trx, { dispute, account, claimantSlackId: actor.slackUserId, owner, teamName: team?.name ?? null, because: decision.because });
          await postDispute(ctx, trx, outbox, { post, teamId, channelId: team?.channelId ?? null, customerId, escalated: false, now });
          if (owner) {
            await outbox.notice(
              `dispute-${dispute.id}-owner`,
              owner,
              ownerToldOfClaim({ customerName: account.name, claimantSlackId: actor.slackUserId, reason, channelId: team?.channelId ?? null, teamName: team?.name ?? null }),
              customerId,
            );
          }
          return done({
            kind: 'dispute',
            customerName: account.name,
            disputeId: dispute.id,
            because: decision.because,
            ownerSlackId: owner?.slackUserId ?? null,
            channelId: team?.channelId ?? null,
            daysToRenewal: account.renewalDate ? daysUntil(account.renewalDate, now) : null,
          });
        }
      }
    });
  } catch (error) {
    // Belt and braces: the partial unique index allows one open dispute per account.
    if (!isUniqueViolation(error)) throw error;
    const other = await findOpenDispute(ctx.db, customerId);
    const account = await ctx.db.selectFrom('customers').select('name').where('id', '=', customerId).executeTakeFirst();
    if (!other || !account) throw error;
    return openDisputeResult(ctx.db, account.name, other, actor);
  }
  return afterCommit(ctx, tx);
}

async function buildDisputePost(
  ctx: AppContext,
  db: DbOrTrx,
  o: { dispute: DisputeRow; account: LockedAccount; claimantSlackId: string; owner: MemberInfo | null | undefined; teamName: string | null; because: 'owned' | 'freeze' },
): Promise<DisputePost> {
  const since = new Date(o.dispute.openedAt.getTime() - EVIDENCE_DAYS * DAY_MS);
  const sides = [o.claimantSlackId, ...(o.owner ? [o.owner.slackUserId] : [])];
  const evidence = await interactionEvidence(db, o.account.id, sides, since);
  const ownerLastTouch = o.owner ? await lastTouchBy(db, o.account.id, o.owner.slackUserId) : null;
  return {
    disputeId: o.dispute.id,
    customerId: o.account.id,
    customerName: o.account.name,
    arr: o.account.arr,
    currency: o.account.currency,
    renewalDate: o.account.renewalDate,
    teamName: o.teamName,
    claimantSlackId: o.claimantSlackId,
    ownerSlackId: o.owner?.slackUserId ?? null,
    ownerSince: o.account.ownerSince,
    reason: o.dispute.reason,
    because: o.because,
    openedAt: o.dispute.openedAt,
    freezeDays: ctx.config.settings.renewals.freezeDays,
    escalateAfterDays: ctx.config.settings.disputes.escalateAfterDays,
    evidenceDays: EVIDENCE_DAYS,
    claimantEvidence: evidence.get(o.claimantSlackId)!,
    ownerEvidence: o.owner ? evidence.get(o.owner.slackUserId)! : null,
    ownerLastTouch,
  };
}

/**
 * Post a dispute where its deciders read: the team channel; with no team
 * channel, each manager's DM (else each admin's).
 */
async function postDispute(
  ctx: AppContext,
  db: DbOrTrx,
  outbox: Outbox,
  o: { post: DisputePost; teamId: number; channelId: string | null; customerId: string; escalated: boolean; now: Date },
): Promise<void> {
  const message = disputePostMessage(o.post, { now: o.now, escalated: o.escalated });
  const key = `dispute-${o.post.disputeId}-post${o.escalated ? '-escalated' : ''}`;
  const base = { kind: 'dispute', text: message.text, blocks: message.blocks, customerId: o.customerId, teamId: o.teamId };
  if (o.channelId) {
    await outbox.add({ ...base, dedupeKey: key, channel: o.channelId });
    return;
  }
  let deciders = await listTeamManagers(db, o.teamId);
  if (deciders.length === 0) deciders = await listAdmins(db);
  deciders = deciders.filter((id) => id !== o.post.claimantSlackId && id !== o.post.ownerSlackId);
  if (deciders.length === 0) ctx.logger.warn({ disputeId: o.post.disputeId }, 'dispute has no team channel and no manager or admin to post it to');
  for (const id of deciders) await outbox.add({ ...base, dedupeKey: `${key}-${id}`, channel: id });
}

// ── approve / reject ──────────────────────────────────────────────────────

export interface ClickedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
}

export type DecideResult =
  | { kind: 'not_found' }
  | { kind: 'closed'; status: string; customerName: string; decidedBySlackId: string | null }
  | { kind: 'refused'; why: 'role' | 'other_team' | 'party'; customerName: string; teamId: number | null; teamName: string | null }
  | { kind: 'decided'; status: 'approved' | 'rejected'; customerName: string; claimantSlackId: string; ownerSlackId: string | null }
  | { kind: 'expired'; customerName: string; claimantSlackId: string };

/** Approve or Reject on a dispute message. */
export async function decideDispute(
  ctx: AppContext,
  actor: MemberInfo,
  disputeId: string,
  verdict: 'approve' | 'reject',
  clicked?: ClickedMessage,
): Promise<DecideResult> {
  const now = ctx.clock.now();
  const tx = await ctx.db.transaction().execute(async (trx): Promise<TxResult<DecideResult>> => {
    const outbox = new Outbox(trx);
    const done = (result: DecideResult, messageUpdates: MessageUpdate[] = []): TxResult<DecideResult> => ({ result, notificationIds: outbox.ids, messageUpdates });
    const first = await getDispute(trx, disputeId);
    if (!first) return done({ kind: 'not_found' });
    const account = await lockAccount(trx, first.customerId);
    const dispute = await getDispute(trx, disputeId, { lock: true });
    if (!account || !dispute) return done({ kind: 'not_found' });
    if (clicked) await setDisputeMessage(trx, dispute.id, clicked.channel, clicked.ts);
    if (dispute.status !== 'open') return done({ kind: 'closed', status: dispute.status, customerName: account.name, decidedBySlackId: dispute.decidedBySlackId });

    const claimant = await findMemberById(trx, dispute.claimantMemberId);
    if (!claimant) return done({ kind: 'not_found' });
    const accountTeamId = account.teamId ?? claimant.teamId;
    const allowed = decideDisputeDecision(actor, dispute, accountTeamId);
    if (allowed.kind === 'refused') {
      return done({ kind: 'refused', why: allowed.why, customerName: account.name, teamId: accountTeamId, teamName: await teamName(trx, accountTeamId) });
    }

    // The owner now (read under the lock) is who loses the account on approval.
    const ownerSlackIdNow = account.ownerMemberId === null ? null : ((await findMemberById(trx, account.ownerMemberId))?.slackUserId ?? null);
    if (!claimStillValid(claimant, account.teamId)) {
      await closeDispute(trx, dispute.id, 'expired', actor.slackUserId, now);
      const updates = await closeDisputeMessages(trx, dispute.id, clicked, {
        status: 'expired',
        bySlackId: actor.slackUserId,
        claimantSlackId: claimant.slackUserId,
        ownerSlackId: ownerSlackIdNow,
        customerName: account.name,
        at: now,
      });
      return done({ kind: 'expired', customerName: account.name, claimantSlackId: claimant.slackUserId }, updates);
    }
    const currentOwner = account.ownerMemberId === null ? null : await findMemberById(trx, account.ownerMemberId);
    const status = verdict === 'approve' ? 'approved' : 'rejected';
    if (status === 'approved' && account.ownerMemberId !== claimant.memberId) {
      const changed = await changeOwner(trx, { customerId: account.id, expected: account.ownerMemberId, next: claimant.memberId, teamId: accountTeamId, now });
      if (!changed) throw new Error('owner changed under the row lock');
      await insertOwnershipEvent(trx, {
        customerId: account.id,
        kind: 'dispute_approved',
        from: account.ownerMemberId,
        to: claimant.memberId,
        actorSlackId: actor.slackUserId,
        reason: dispute.reason,
        disputeId: dispute.id,
        at: now,
      });
    }
    await closeDispute(trx, dispute.id, status, actor.slackUserId, now);

    await outbox.notice(
      `dispute-${dispute.id}-decided-claimant`,
      claimant,
      claimantToldOfDecision({ status, customerName: account.name, bySlackId: actor.slackUserId, ownerSlackId: currentOwner?.slackUserId ?? null }),
      account.id,
    );
    if (currentOwner && currentOwner.memberId !== claimant.memberId) {
      await outbox.notice(
        `dispute-${dispute.id}-decided-owner`,
        currentOwner,
        ownerToldOfDecision({ status, customerName: account.name, bySlackId: actor.slackUserId, claimantSlackId: claimant.slackUserId }),
        account.id,
      );
    }
    const updates = await closeDisputeMessages(trx, dispute.id, clicked, {
      status,
      bySlackId: actor.slackUserId,
      claimantSlackId: claimant.slackUserId,
      ownerSlackId: currentOwner?.slackUserId ?? null,
      customerName: account.name,
      at: now,
    });
    return done({ kind: 'decided', status, customerName: account.name, claimantSlackId: claimant.slackUserId, ownerSlackId: currentOwner?.slackUserId ?? null }, updates);
  });
  return afterCommit(ctx, tx);
}

/**
 * The decided version of every message posted for a dispute: posted ones are
 * updated in Slack after commit, not-yet-posted ones are rewritten in the
 * outbox so stale buttons never reach Slack.
 */
async function closeDisputeMessages(
  trx: DbOrTrx,
  disputeId: string,
  clicked: ClickedMessage | undefined,
  outcome: { status: DisputeOutcome; bySlackId: string | null; claimantSlackId: string; ownerSlackId: string | null; customerName: string; at: Date },
): Promise<MessageUpdate[]> {
  const updates: MessageUpdate[] = [];
  for (const m of await listDisputeMessages(trx, disputeId)) {
    const decided = decidedDisputeMessage(m, outcome);
    if (m.status === 'pending') await rewritePendingNotification(trx, m.id, { text: decided.text, blocks: decided.blocks });
    else if (m.channel && m.ts) updates.push({ channel: m.channel, ts: m.ts, text: decided.text, blocks: decided.blocks });
  }
  if (clicked && !updates.some((u) => u.ts === clicked.ts && u.channel === clicked.channel)) {
    const decided = decidedDisputeMessage(clicked, outcome);
    updates.push({ channel: clicked.channel, ts: clicked.ts, text: decided.text, blocks: decided.blocks });
  }
  return updates;
}

/** Close an open dispute because the owner was changed directly (assign, release). */
async function supersedeOpenDispute(
  trx: DbOrTrx,
  outbox: Outbox,
  o: { customerId: string; customerName: string; actor: MemberInfo; newOwnerMemberId: number | null; now: Date },
): Promise<{ superseded: boolean; updates: MessageUpdate[] }> {
  const open = await findOpenDispute(trx, o.customerId);
  if (!open) return { superseded: false, updates: [] };
  await closeDispute(trx, open.id, 'superseded', o.actor.slackUserId, o.now);
  const claimant = await findMemberById(trx, open.claimantMemberId);
  if (claimant && claimant.memberId !== o.actor.memberId && claimant.memberId !== o.newOwnerMemberId) {
    await outbox.notice(`dispute-${open.id}-superseded`, claimant, claimSuperseded({ customerName: o.customerName, bySlackId: o.actor.slackUserId }), o.customerId);
  }
  const owner = open.ownerMemberId === null ? null : await findMemberById(trx, open.ownerMemberId);
  const updates = await closeDisputeMessages(trx, open.id, undefined, {
    status: 'superseded',
    bySlackId: o.actor.slackUserId,
    claimantSlackId: claimant?.slackUserId ?? '',
    ownerSlackId: owner?.slackUserId ?? null,
    customerName: o.customerName,
    at: o.now,
  });
  return { superseded: true, updates };
}

// ── assign / release ──────────────────────────────────────────────────────

export type AssignResult =
  | { kind: 'not_found' }
  | { kind: 'unknown_target' }
  | { kind: 'refused'; why: 'role' | 'other_team' | 'target_other_team'; customerName: string; teamId: number | null; teamName: string | null; targetTeamName: string }
  | { kind: 'already_owner'; customerName: string }
  | { kind: 'assigned'; customerName: string; fromSlackId: string | null; toSlackId: string; superseded: boolean; told: string[] };

/** `/customer assign`: managers and admins give an account to someone, at once. */
export async function assignAccount(ctx: AppContext, actor: MemberInfo, customerId: string, targetSlackId: string, reason: string | null): Promise<AssignResult> {
  const now = ctx.clock.now();
  const target = await findActor(ctx.db, targetSlackId);
  if (!target) return { kind: 'unknown_target' };
  const tx = await ctx.db.transaction().execute(async (trx): Promise<TxResult<AssignResult>> => {
    const outbox = new Outbox(trx);
    const done = (result: AssignResult, messageUpdates: MessageUpdate[] = []): TxResult<AssignResult> => ({ result, notificationIds: outbox.ids, messageUpdates });
    const account = await lockAccount(trx, customerId);
    if (!account) return done({ kind: 'not_found' });
    const decision = decideAssign(actor, account, target);
    if (decision.kind === 'refused') {
      const teamId = account.teamId ?? actor.teamId;
      return done({ kind: 'refused', why: decision.why, customerName: account.name, teamId, teamName: await teamName(trx, teamId), targetTeamName: target.teamName });
    }
    if (decision.kind === 'already_owner') return done({ kind: 'already_owner', customerName: account.name });

    const from = account.ownerMemberId === null ? null : await findMemberById(trx, account.ownerMemberId);
    if (!(await changeOwner(trx, { customerId, expected: account.ownerMemberId, next: target.memberId, teamId: decision.teamId, now }))) {
      throw new Error('owner changed under the row lock');
    }
    const eventId = await insertOwnershipEvent(trx, { customerId, kind: 'assign', from: account.ownerMemberId, to: target.memberId, actorSlackId: actor.slackUserId, reason, at: now });
    const sup = await supersedeOpenDispute(trx, outbox, { customerId, customerName: account.name, actor, newOwnerMemberId: target.memberId, now });
    const told: string[] = [];
    if (target.memberId !== actor.memberId) {
      await outbox.notice(`ownership-${eventId}-to`, target, assignedToYou({ customerName: account.name, bySlackId: actor.slackUserId, fromSlackId: from?.slackUserId ?? null, reason }), customerId);
      told.push(target.slackUserId);
    }
    if (from && from.memberId !== actor.memberId) {
      await outbox.notice(`ownership-${eventId}-from`, from, takenFromYou({ customerName: account.name, bySlackId: actor.slackUserId, toSlackId: target.slackUserId, reason }), customerId);
      told.push(from.slackUserId);
    }
    return done({ kind: 'assigned', customerName: account.name, fromSlackId: from?.slackUserId ?? null, toSlackId: target.slackUserId, superseded: sup.superseded, told }, sup.updates);
  });
  return afterCommit(ctx, tx);
}

export type ReleaseResult =
  | { kind: 'not_found' }
  | { kind: 'unowned'; customerName: string }
  | { kind: 'refused'; why: 'role' | 'other_team'; customerName: string; ownerSlackId: string | null; teamId: number | null; teamName: string | null }
  | { kind: 'released'; customerName: string; fromSlackId: string; byOwner: boolean; superseded: boolean };

/** `/customer release`: the owner, a manager of the team or an admin makes an account unowned. */
export async function releaseAccount(ctx: AppContext, actor: MemberInfo, customerId: string): Promise<ReleaseResult> {
  const now = ctx.clock.now();
  const tx = await ctx.db.transaction().execute(async (trx): Promise<TxResult<ReleaseResult>> => {
    const outbox = new Outbox(trx);
    const done = (result: ReleaseResult, messageUpdates: MessageUpdate[] = []): TxResult<ReleaseResult> => ({ result, notificationIds: outbox.ids, messageUpdates });
    const account = await lockAccount(trx, customerId);
    if (!account) return done({ kind: 'not_found' });
    const decision = decideRelease(actor, account);
    if (decision.kind === 'unowned') return done({ kind: 'unowned', customerName: account.name });
    const owner = (await findMemberById(trx, account.ownerMemberId!))!;
    if (decision.kind === 'refused') {
      const teamId = account.teamId ?? owner.teamId;
      return done({ kind: 'refused', why: decision.why, customerName: account.name, ownerSlackId: owner.slackUserId, teamId, teamName: await teamName(trx, teamId) });
    }
    if (!(await changeOwner(trx, { customerId, expected: owner.memberId, next: null, teamId: account.teamId, now }))) throw new Error('owner changed under the row lock');
    const eventId = await insertOwnershipEvent(trx, { customerId, kind: 'release', from: owner.memberId, to: null, actorSlackId: actor.slackUserId, reason: null, at: now });
    const sup = await supersedeOpenDispute(trx, outbox, { customerId, customerName: account.name, actor, newOwnerMemberId: null, now });
    const byOwner = owner.memberId === actor.memberId;
    if (!byOwner) {
      await outbox.notice(`ownership-${eventId}-from`, owner, takenFromYou({ customerName: account.name, bySlackId: actor.slackUserId, toSlackId: null, reason: null }), customerId);
    }
    return done({ kind: 'released', customerName: account.name, fromSlackId: owner.slackUserId, byOwner, superseded: sup.superseded }, sup.updates);
  });
  return afterCommit(ctx, tx);
}

// ── escalation ────────────────────────────────────────────────────────────

/**
 * Disputes undecided after `disputes.escalateAfterDays` are marked escalated
 * and re-posted once to the team channel. Safe to run any number of times:
 * escalated_at flips once (conditional update) and the re-post has its own
 * de-duplication key. One failing dispute does not stop the others.
 */
export async function escalateDueDisputes(ctx: AppContext): Promise<{ escalated: string[]; failed: number }> {
  const now = ctx.clock.now();
  const cutoff = escalationCutoff(now, ctx.config.settings.disputes.escalateAfterDays);
  const due = await listEscalationDue(ctx.db, cutoff);
  const escalated: string[] = [];
  let failed = 0;
  for (const d of due) {
    try {
      const tx = await ctx.db.transaction().execute(async (trx): Promise<TxResult<boolean>> => {
        const outbox = new Outbox(trx);
        const account = await lockAccount(trx, d.customerId);
        const dispute = await getDispute(trx, d.id, { lock: true });
        const claimant = dispute ? await findMemberById(trx, dispute.claimantMemberId) : undefined;
        if (!account || !dispute || !claimant || dispute.status !== 'open') return { result: false, notificationIds: [], messageUpdates: [] };
        if (!claimStillValid(claimant, account.teamId)) {
          // Nobody to give it to any more: close it instead of escalating.
          await closeDispute(trx, dispute.id, 'expired', null, now);
          const owner = dispute.ownerMemberId === null ? null : await findMemberById(trx, dispute.ownerMemberId);
          const messageUpdates = await closeDisputeMessages(trx, dispute.id, undefined, {
            status: 'expired',
            bySlackId: null,
            claimantSlackId: claimant.slackUserId,
            ownerSlackId: owner?.slackUserId ?? null,
            customerName: account.name,
            at: now,
          });
          return { result: false, notificationIds: [], messageUpdates };
        }
        if (!(await markEscalated(trx, d.id, now))) return { result: false, notificationIds: [], messageUpdates: [] };
        const teamId = account.teamId ?? claimant.teamId;
        const team = await findTeam(trx, teamId);
        const owner = dispute.ownerMemberId === null ? null : await findMemberById(trx, dispute.ownerMemberId);
        // Remember where the first post landed, for the digest's links.
        const first = (await listDisputeMessages(trx, d.id)).find((m) => m.channel && m.ts);
        if (first?.channel && first.ts) await setDisputeMessage(trx, d.id, first.channel, first.ts);
        const post = await buildDisputePost(ctx, trx, {
          dispute,
          account,
          claimantSlackId: claimant.slackUserId,
          owner,
          teamName: team?.name ?? null,
          because: dispute.ownerMemberId === null ? 'freeze' : 'owned',
        });
        await postDispute(ctx, trx, outbox, { post, teamId, channelId: team?.channelId ?? null, customerId: account.id, escalated: true, now });
        return { result: true, notificationIds: outbox.ids, messageUpdates: [] };
      });
      if (await afterCommit(ctx, tx)) escalated.push(d.id);
    } catch (error) {
      failed++;
      ctx.logger.warn({ disputeId: d.id, err: (error as Error).message }, 'could not escalate a dispute');
    }
  }
  return { escalated, failed };
}
