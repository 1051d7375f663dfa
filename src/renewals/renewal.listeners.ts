import type { App, BlockButtonAction, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import type { ChurnReason } from '../alerts/alert.table.js';
import type { AppContext } from '../platform/context.js';
import { plainReply, type Reply } from '../slack/blocks.js';
import { guarded } from '../slack/guard.js';
import { clickedMessage, modalValue, parseModalMetadata } from '../slack/interaction.js';
import { RENEWAL_ACTIONS } from '../slack/ids.js';
import { toRespond } from '../slack/respond.js';
import { churnModal, parseRenewalRef, refusalModal } from './renewal.blocks.js';
import { checkMayDecide, decideRenewal, snoozeReminders, type DecisionOutcome } from './renewal.service.js';

/** What the churn-reason modal carries: the reminder, and the message to update once decided. */
const modalMeta = z.object({ ref: z.string().optional(), channel: z.string().nullish(), ts: z.string().nullish() });

const STALE = 'This reminder is from an older version of retain and cannot be used; wait for the next reminder or ask a manager.';

/** Thin listeners: ack first; the reminder is updated in place, refusals are ephemeral to the clicker. */
export function registerRenewalListeners(app: App, ctx: AppContext): void {
  const answer = async (respond: (r: never) => Promise<unknown>, what: string, run: () => Promise<DecisionOutcome | null>) => {
    let done = false;
    const reply: Reply = await guarded(ctx.logger, what, async () => {
      const outcome = await run();
      if (!outcome) return plainReply(STALE);
      done = outcome.kind === 'done';
      return plainReply(outcome.kind === 'done' ? 'Done.' : outcome.message);
    });
    if (!done) await respond({ ...toRespond(reply), replace_original: false } as never);
  };

  app.action<BlockButtonAction>(RENEWAL_ACTIONS.renewed, async ({ ack, action, body, respond }) => {
    await ack();
    await answer(respond as never, 'renewal renewed', async () => {
      const ref = parseRenewalRef(action.value);
      return ref ? decideRenewal(ctx, { ref, outcome: 'renewed', userId: body.user.id }) : null;
    });
  });

  app.action<BlockButtonAction>(RENEWAL_ACTIONS.snooze, async ({ ack, action, body, respond }) => {
    await ack();
    await answer(respond as never, 'renewal snooze', async () => {
      const ref = parseRenewalRef(action.value);
      return ref ? snoozeReminders(ctx, { ref, userId: body.user.id }) : null;
    });
  });

  // Churned asks why in a modal. The modal opens first (a trigger_id dies in
  // 3 seconds); if the clicker may not decide, it turns into the explanation.
  app.action<BlockButtonAction>(RENEWAL_ACTIONS.churned, async ({ ack, action, body, respond }) => {
    await ack();
    const ref = parseRenewalRef(action.value);
    if (!ref) return void (await respond({ ...toRespond(plainReply(STALE)), replace_original: false }));
    const where = clickedMessage(body);
    const metadata = JSON.stringify({ ref: action.value, channel: where?.channel ?? body.channel?.id ?? null, ts: where?.ts ?? null });
    let viewId: string | null = null;
    try {
      viewId = await ctx.slack.openView(body.trigger_id, churnModal(metadata, null));
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message }, 'could not open the churn modal');
    }
    let allowed = false;
    const reply = await guarded(ctx.logger, 'renewal churn check', async () => {
      const check = await checkMayDecide(ctx, ref.customerId, body.user.id);
      allowed = check.ok;
      return plainReply(check.ok ? 'ok' : check.message);
    });
    if (allowed) return;
    if (viewId) await ctx.slack.updateView(viewId, refusalModal(reply.blocks)).catch(() => undefined);
    await respond({ ...toRespond(reply), replace_original: false });
  });

  app.view<ViewSubmitAction>(RENEWAL_ACTIONS.churnView, async ({ ack, view, body }) => {
    await ack();
    // A foreign or truncated payload is treated as a stale reminder below.
    const meta = parseModalMetadata(view.private_metadata, modalMeta) ?? {};
    const reason = (modalValue(view.state.values, 'reason') ?? 'other') as ChurnReason;
    const note = modalValue(view.state.values, 'note') ?? '';
    let done = false;
    const reply = await guarded(ctx.logger, 'renewal churned', async () => {
      const ref = parseRenewalRef(meta.ref);
      if (!ref) return plainReply(STALE);
      const outcome = await decideRenewal(ctx, {
        ref,
        outcome: 'churned',
        userId: body.user.id,
        reason,
        note,
      });
      done = outcome.kind === 'done';
      return plainReply(outcome.kind === 'done' ? `Marked *${outcome.customerName}* as churned.` : outcome.message);
    });
    if (!done && meta.channel) {
      await ctx.slack
        .postEphemeral({ channel: meta.channel, user: body.user.id, text: reply.text, blocks: reply.blocks })
        .catch((error: Error) => ctx.logger.warn({ err: error.message }, 'could not tell the user why the churn was not recorded'));
    }
  });
}
