import { findMemberById, findTeam, type MemberInfo } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import type { DbOrTrx } from '../platform/db.js';
import { ownerToldOfClaim } from './dispute.blocks.js';
import { findOpenDispute, insertDispute, type DisputeRow } from './dispute.repository.js';
import { buildDisputePost, postDispute } from './dispute.service.js';
import { changeOwner, insertOwnershipEvent, lockAccount } from './ownership.repository.js';
import { daysUntil, decideClaim } from './ownership.rules.js';
import { afterCommit, Outbox, teamName, type TxResult } from './ownership.service.js';

/**
 * `/customer claim`: an unowned account of the member's team is theirs at
 * once; an owned one, or one inside the renewal freeze, becomes a dispute for
 * a manager to decide.
 */

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

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
  return {
    kind: 'dispute_open',
    customerName,
    claimantSlackId: claimant?.slackUserId ?? '',
    openedAt: d.openedAt,
    mine: d.claimantMemberId === actor.memberId,
  };
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
          return done({
            kind: 'other_team',
            customerName: account.name,
            teamId: account.teamId!,
            teamName: (await teamName(trx, account.teamId)) ?? 'another team',
          });
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
          const post = await buildDisputePost(ctx, trx, {
            dispute,
            account,
            claimantSlackId: actor.slackUserId,
            owner,
            teamName: team?.name ?? null,
            because: decision.because,
          });
          await postDispute(ctx, trx, outbox, { post, teamId, channelId: team?.channelId ?? null, customerId, escalated: false, now });
          if (owner) {
            await outbox.notice(
              `dispute-${dispute.id}-owner`,
              owner,
              ownerToldOfClaim({
                customerName: account.name,
                claimantSlackId: actor.slackUserId,
                reason,
                channelId: team?.channelId ?? null,
                teamName: team?.name ?? null,
              }),
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
  return afterCommit(ctx, tx, { customerIds: [customerId], userIds: [actor.slackUserId] });
}
