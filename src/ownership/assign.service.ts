import { findActor, findMemberById, type MemberInfo } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import { assignedToYou, takenFromYou } from './assign.blocks.js';
import { supersedeOpenDispute } from './dispute.service.js';
import { changeOwner, insertOwnershipEvent, lockAccount } from './ownership.repository.js';
import { decideAssign, decideRelease } from './ownership.rules.js';
import { afterCommit, Outbox, teamName, type MessageUpdate, type TxResult } from './ownership.service.js';

/**
 * Direct changes of owner, no dispute: `/customer assign` (managers and
 * admins) and `/customer release` (the owner too). Either closes an open
 * dispute on the account, which no longer applies.
 */

export type AssignResult =
  | { kind: 'not_found' }
  | { kind: 'unknown_target' }
  | {
      kind: 'refused';
      why: 'role' | 'other_team' | 'target_other_team';
      customerName: string;
      teamId: number | null;
      teamName: string | null;
      targetTeamName: string;
    }
  | { kind: 'already_owner'; customerName: string }
  | { kind: 'assigned'; customerName: string; fromSlackId: string | null; toSlackId: string; superseded: boolean; told: string[] };

/** `/customer assign`: managers and admins give an account to someone, at once. */
export async function assignAccount(
  ctx: AppContext,
  actor: MemberInfo,
  customerId: string,
  targetSlackId: string,
  reason: string | null,
): Promise<AssignResult> {
  const now = ctx.clock.now();
  const target = await findActor(ctx.db, targetSlackId);
  if (!target) return { kind: 'unknown_target' };
  const tx = await ctx.db.transaction().execute(async (trx): Promise<TxResult<AssignResult>> => {
    const outbox = new Outbox(trx);
    const done = (result: AssignResult, messageUpdates: MessageUpdate[] = []): TxResult<AssignResult> => ({
      result,
      notificationIds: outbox.ids,
      messageUpdates,
    });
    const account = await lockAccount(trx, customerId);
    if (!account) return done({ kind: 'not_found' });
    const decision = decideAssign(actor, account, target);
    if (decision.kind === 'refused') {
      const teamId = account.teamId ?? actor.teamId;
      return done({
        kind: 'refused',
        why: decision.why,
        customerName: account.name,
        teamId,
        teamName: await teamName(trx, teamId),
        targetTeamName: target.teamName,
      });
    }
    if (decision.kind === 'already_owner') return done({ kind: 'already_owner', customerName: account.name });

    const from = account.ownerMemberId === null ? null : await findMemberById(trx, account.ownerMemberId);
    if (!(await changeOwner(trx, { customerId, expected: account.ownerMemberId, next: target.memberId, teamId: decision.teamId, now }))) {
      throw new Error('owner changed under the row lock');
    }
    const eventId = await insertOwnershipEvent(trx, {
      customerId,
      kind: 'assign',
      from: account.ownerMemberId,
      to: target.memberId,
      actorSlackId: actor.slackUserId,
      reason,
      at: now,
    });
    const sup = await supersedeOpenDispute(trx, outbox, { customerId, customerName: account.name, actor, newOwnerMemberId: target.memberId, now });
    const told: string[] = [];
    if (target.memberId !== actor.memberId) {
      await outbox.notice(
        `ownership-${eventId}-to`,
        target,
        assignedToYou({ customerName: account.name, bySlackId: actor.slackUserId, fromSlackId: from?.slackUserId ?? null, reason }),
        customerId,
      );
      told.push(target.slackUserId);
    }
    if (from && from.memberId !== actor.memberId) {
      await outbox.notice(
        `ownership-${eventId}-from`,
        from,
        takenFromYou({ customerName: account.name, bySlackId: actor.slackUserId, toSlackId: target.slackUserId, reason }),
        customerId,
      );
      told.push(from.slackUserId);
    }
    return done(
      { kind: 'assigned', customerName: account.name, fromSlackId: from?.slackUserId ?? null, toSlackId: target.slackUserId, superseded: sup.superseded, told },
      sup.updates,
    );
  });
  return afterCommit(ctx, tx, {
    customerIds: [customerId],
    userIds: [actor.slackUserId, targetSlackId, tx.result.kind === 'assigned' ? tx.result.fromSlackId : null],
  });
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
    const done = (result: ReleaseResult, messageUpdates: MessageUpdate[] = []): TxResult<ReleaseResult> => ({
      result,
      notificationIds: outbox.ids,
      messageUpdates,
    });
    const account = await lockAccount(trx, customerId);
    if (!account) return done({ kind: 'not_found' });
    const decision = decideRelease(actor, account);
    if (decision.kind === 'unowned') return done({ kind: 'unowned', customerName: account.name });
    const owner = (await findMemberById(trx, account.ownerMemberId!))!;
    if (decision.kind === 'refused') {
      const teamId = account.teamId ?? owner.teamId;
      return done({
        kind: 'refused',
        why: decision.why,
        customerName: account.name,
        ownerSlackId: owner.slackUserId,
        teamId,
        teamName: await teamName(trx, teamId),
      });
    }
    if (!(await changeOwner(trx, { customerId, expected: owner.memberId, next: null, teamId: account.teamId, now })))
      throw new Error('owner changed under the row lock');
    const eventId = await insertOwnershipEvent(trx, {
      customerId,
      kind: 'release',
      from: owner.memberId,
      to: null,
      actorSlackId: actor.slackUserId,
      reason: null,
      at: now,
    });
    const sup = await supersedeOpenDispute(trx, outbox, { customerId, customerName: account.name, actor, newOwnerMemberId: null, now });
    const byOwner = owner.memberId === actor.memberId;
    if (!byOwner) {
      await outbox.notice(
        `ownership-${eventId}-from`,
        owner,
        takenFromYou({ customerName: account.name, bySlackId: actor.slackUserId, toSlackId: null, reason: null }),
        customerId,
      );
    }
    return done({ kind: 'released', customerName: account.name, fromSlackId: owner.slackUserId, byOwner, superseded: sup.superseded }, sup.updates);
  });
  return afterCommit(ctx, tx, { customerIds: [customerId], userIds: [actor.slackUserId, tx.result.kind === 'released' ? tx.result.fromSlackId : null] });
}
