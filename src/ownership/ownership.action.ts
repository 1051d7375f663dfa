import type { App, BlockButtonAction } from '@slack/bolt';
import type { AppContext } from '../platform/context.js';
import { plainReply, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn, mention } from '../slack/escape.js';
import { guarded } from '../slack/guard.js';
import { ACTIONS } from '../slack/ids.js';
import { toRespond } from '../slack/respond.js';
import { managersPhrase, notMemberReply, refusalReply } from './ownership.blocks.js';
import { findActor } from '../customers/roster.repository.js';
import { decideDispute } from './dispute.service.js';
import { managersOf } from './ownership.service.js';

/** Approve / Reject on a dispute message: who clicked → service → ephemeral answer (the message itself is updated by the service). */
export async function handleDisputeClick(ctx: AppContext, click: { userId: string; disputeId: string; verdict: 'approve' | 'reject' }): Promise<Reply> {
  const actor = await findActor(ctx.db, click.userId);
  if (!actor) return notMemberReply(click.userId);
  const r = await decideDispute(ctx, actor, click.disputeId, click.verdict);
  switch (r.kind) {
    case 'not_found':
      return plainReply('That ownership claim no longer exists.');
    case 'closed':
      return plainReply(
        `This claim on *${escapeMrkdwn(r.customerName)}* is already ${r.status}${r.decidedBySlackId ? ` (by ${mention(r.decidedBySlackId)})` : ''}.`,
      );
    case 'refused': {
      const whoCan = `Ask ${managersPhrase(
        r.teamName,
        (await managersOf(ctx, r.teamId)).filter((id) => id !== actor.slackUserId),
      )}.`;
      if (r.why === 'party') return refusalReply('You are a party to this claim, so someone else has to decide it.', whoCan);
      if (r.why === 'other_team')
        return refusalReply(`*${escapeMrkdwn(r.customerName)}* belongs to team ${escapeMrkdwn(r.teamName ?? '?')}, not yours.`, whoCan);
      return refusalReply('Only managers and admins can approve or reject ownership claims.', whoCan);
    }
    case 'expired':
      return plainReply(
        `${mention(r.claimantSlackId)} is no longer an active member of the team that owns *${escapeMrkdwn(r.customerName)}*, so the claim has expired. Nothing changed.`,
      );
    case 'decided':
      return plainReply(
        r.status === 'approved'
          ? `Approved: ${mention(r.claimantSlackId)} owns *${escapeMrkdwn(r.customerName)}* now. Both sides have been told.`
          : `Rejected: ${r.ownerSlackId ? `${mention(r.ownerSlackId)} keeps` : 'nobody owns'} *${escapeMrkdwn(r.customerName)}*. Both sides have been told.`,
      );
  }
}

export function registerDisputeActions(app: App, ctx: AppContext): void {
  const listen = (actionId: string, verdict: 'approve' | 'reject') =>
    app.action<BlockButtonAction>(actionId, async ({ action, ack, body, respond }) => {
      await ack();
      const reply = await guarded(ctx.logger, `dispute ${verdict}`, () =>
        handleDisputeClick(ctx, { userId: body.user.id, disputeId: action.value ?? '', verdict }),
      );
      await respond({ ...toRespond(reply), response_type: 'ephemeral', replace_original: false });
    });
  listen(ACTIONS.approveDispute, 'approve');
  listen(ACTIONS.rejectDispute, 'reject');
}
