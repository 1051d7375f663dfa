import { findMemberById, findTeam, listAdmins, listTeamManagers, type MemberInfo } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import type { DbOrTrx } from '../platform/db.js';
import {
  claimantToldOfDecision,
  claimSuperseded,
  decidedDisputeMessage,
  disputePostMessage,
  ownerToldOfDecision,
  type DisputeOutcome,
  type DisputePost,
} from './dispute.blocks.js';
import {
  closeDispute,
  findOpenDispute,
  getDispute,
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
import { claimStillValid, decideDisputeDecision, escalationCutoff } from './ownership.rules.js';
import { afterCommit, Outbox, teamName, type MessageUpdate, type TxResult } from './ownership.service.js';

/**
 * An ownership dispute from post to close: the post with each side's
 * evidence, Approve / Reject, closing it when the owner is changed directly,
 * and escalating or expiring it when nobody decides.
 */

export const EVIDENCE_DAYS = 90;
const DAY_MS = 86_400_000;

export async function buildDisputePost(
  ctx: AppContext,
  db: DbOrTrx,
  o: {
    dispute: DisputeRow;
    account: LockedAccount;
    claimantSlackId: string;
    owner: MemberInfo | null | undefined;
    teamName: string | null;
    because: 'owned' | 'freeze';
  },
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
export async function postDispute(
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

export type DecideResult =
  | { kind: 'not_found' }
  | { kind: 'closed'; status: string; customerName: string; decidedBySlackId: string | null }
  | { kind: 'refused'; why: 'role' | 'other_team' | 'party'; customerName: string; teamId: number | null; teamName: string | null }
  | { kind: 'decided'; status: 'approved' | 'rejected'; customerName: string; claimantSlackId: string; ownerSlackId: string | null }
  | { kind: 'expired'; customerName: string; claimantSlackId: string };

/**
 * Approve or Reject on a dispute message. A refusal changes nothing; the
 * messages updated are the ones the outbox posted for the dispute — never a
 * location taken from the click, which the request could have made up.
 */
export async function decideDispute(ctx: AppContext, actor: MemberInfo, disputeId: string, verdict: 'approve' | 'reject'): Promise<DecideResult> {
  const now = ctx.clock.now();
  const wrote: { customerIds: string[]; userIds: (string | null)[] } = { customerIds: [], userIds: [actor.slackUserId] };
  const tx = await ctx.db.transaction().execute(async (trx): Promise<TxResult<DecideResult>> => {
    const outbox = new Outbox(trx);
    const done = (result: DecideResult, messageUpdates: MessageUpdate[] = []): TxResult<DecideResult> => ({
      result,
      notificationIds: outbox.ids,
      messageUpdates,
    });
    const first = await getDispute(trx, disputeId);
    if (!first) return done({ kind: 'not_found' });
    const account = await lockAccount(trx, first.customerId);
    const dispute = await getDispute(trx, disputeId, { lock: true });
    if (!account || !dispute) return done({ kind: 'not_found' });
    if (dispute.status !== 'open')
      return done({ kind: 'closed', status: dispute.status, customerName: account.name, decidedBySlackId: dispute.decidedBySlackId });

    const claimant = await findMemberById(trx, dispute.claimantMemberId);
    if (!claimant) return done({ kind: 'not_found' });
    wrote.customerIds.push(account.id);
    wrote.userIds.push(claimant.slackUserId);
    const accountTeamId = account.teamId ?? claimant.teamId;
    const allowed = decideDisputeDecision(actor, dispute, accountTeamId);
    if (allowed.kind === 'refused') {
      return done({ kind: 'refused', why: allowed.why, customerName: account.name, teamId: accountTeamId, teamName: await teamName(trx, accountTeamId) });
    }

    // The owner now (read under the lock) is who loses the account on approval.
    const ownerSlackIdNow = account.ownerMemberId === null ? null : ((await findMemberById(trx, account.ownerMemberId))?.slackUserId ?? null);
    if (!claimStillValid(claimant, account.teamId)) {
      await closeDispute(trx, dispute.id, 'expired', actor.slackUserId, now);
      const updates = await closeDisputeMessages(trx, dispute.id, {
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
    wrote.userIds.push(currentOwner?.slackUserId ?? null);
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
    const updates = await closeDisputeMessages(trx, dispute.id, {
      status,
      bySlackId: actor.slackUserId,
      claimantSlackId: claimant.slackUserId,
      ownerSlackId: currentOwner?.slackUserId ?? null,
      customerName: account.name,
      at: now,
    });
    return done(
      { kind: 'decided', status, customerName: account.name, claimantSlackId: claimant.slackUserId, ownerSlackId: currentOwner?.slackUserId ?? null },
      updates,
    );
  });
  return afterCommit(ctx, tx, wrote);
}

/**
 * The decided version of every message posted for a dispute: posted ones are
 * updated in Slack after commit, not-yet-posted ones are rewritten in the
 * outbox so stale buttons never reach Slack.
 */
async function closeDisputeMessages(
  trx: DbOrTrx,
  disputeId: string,
  outcome: { status: DisputeOutcome; bySlackId: string | null; claimantSlackId: string; ownerSlackId: string | null; customerName: string; at: Date },
): Promise<MessageUpdate[]> {
  const updates: MessageUpdate[] = [];
  const messages = await listDisputeMessages(trx, disputeId);
  // Remember where the first post landed (the digest links to it).
  const first = messages.find((m) => m.channel && m.ts);
  if (first?.channel && first.ts) await setDisputeMessage(trx, disputeId, first.channel, first.ts);
  for (const m of messages) {
    const decided = decidedDisputeMessage(m, outcome);
    if (m.status === 'pending') await rewritePendingNotification(trx, m.id, { text: decided.text, blocks: decided.blocks });
    else if (m.channel && m.ts) updates.push({ channel: m.channel, ts: m.ts, text: decided.text, blocks: decided.blocks });
  }
  return updates;
}

/** Close an open dispute because the owner was changed directly (assign, release). */
export async function supersedeOpenDispute(
  trx: DbOrTrx,
  outbox: Outbox,
  o: { customerId: string; customerName: string; actor: MemberInfo; newOwnerMemberId: number | null; now: Date },
): Promise<{ superseded: boolean; updates: MessageUpdate[] }> {
  const open = await findOpenDispute(trx, o.customerId);
  if (!open) return { superseded: false, updates: [] };
  await closeDispute(trx, open.id, 'superseded', o.actor.slackUserId, o.now);
  const claimant = await findMemberById(trx, open.claimantMemberId);
  if (claimant && claimant.memberId !== o.actor.memberId && claimant.memberId !== o.newOwnerMemberId) {
    await outbox.notice(
      `dispute-${open.id}-superseded`,
      claimant,
      claimSuperseded({ customerName: o.customerName, bySlackId: o.actor.slackUserId }),
      o.customerId,
    );
  }
  const owner = open.ownerMemberId === null ? null : await findMemberById(trx, open.ownerMemberId);
  const updates = await closeDisputeMessages(trx, open.id, {
    status: 'superseded',
    bySlackId: o.actor.slackUserId,
    claimantSlackId: claimant?.slackUserId ?? '',
    ownerSlackId: owner?.slackUserId ?? null,
    customerName: o.customerName,
    at: o.now,
  });
  return { superseded: true, updates };
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
          const messageUpdates = await closeDisputeMessages(trx, dispute.id, {
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
