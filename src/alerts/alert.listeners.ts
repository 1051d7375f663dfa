import type { App, BlockButtonAction, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import type { AppContext } from '../platform/context.js';
import { plainReply } from '../slack/blocks.js';
import { guarded } from '../slack/guard.js';
import { clickedMessage, modalValue, parseModalMetadata } from '../slack/interaction.js';
import { ALERT_ACTIONS } from '../slack/ids.js';
import { toRespond } from '../slack/respond.js';
import { actOnWarning, type WarningAction } from './alert.service.js';
import { followUpModal } from './warning.blocks.js';

/** What the follow-up modal carries: the warning, and the message to update once it is logged. */
const modalMeta = z.object({ alertId: z.string().optional(), channel: z.string().nullish(), ts: z.string().nullish() });

const BUTTONS: [string, WarningAction][] = [
  [ALERT_ACTIONS.acknowledge, 'acknowledge'],
  [ALERT_ACTIONS.snooze, 'snooze'],
  [ALERT_ACTIONS.useful, 'useful'],
  [ALERT_ACTIONS.falseAlarm, 'false_alarm'],
];

/** Thin listeners: ack first, then service; the message itself shows the result, refusals are ephemeral. */
export function registerAlertListeners(app: App, ctx: AppContext): void {
  for (const [actionId, action] of BUTTONS) {
    app.action<BlockButtonAction>(actionId, async ({ ack, action: a, body, respond }) => {
      await ack();
      let done = false;
      const reply = await guarded(ctx.logger, `warning ${action}`, async () => {
        const outcome = await actOnWarning(ctx, { alertId: a.value ?? '', action, userId: body.user.id });
        done = outcome.kind === 'done';
        return plainReply(outcome.kind === 'done' ? outcome.note : outcome.message);
      });
      // Done: the updated message says who did what. Otherwise say why, to the clicker only.
      if (!done) await respond({ ...toRespond(reply), replace_original: false });
    });
  }

  // The modal opens first: a trigger_id dies 3 seconds after the click.
  app.action<BlockButtonAction>(ALERT_ACTIONS.logFollowUp, async ({ ack, action, body, respond }) => {
    await ack();
    const where = clickedMessage(body);
    const metadata = JSON.stringify({ alertId: action.value ?? '', channel: where?.channel ?? body.channel?.id ?? null, ts: where?.ts ?? null });
    try {
      await ctx.slack.openView(body.trigger_id, followUpModal(metadata, null));
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message }, 'could not open the follow-up modal');
      await respond({ ...toRespond(plainReply('The follow-up form could not open in time — please click *Log follow-up* again.')), replace_original: false });
    }
  });

  app.view<ViewSubmitAction>(ALERT_ACTIONS.followUpView, async ({ ack, view, body }) => {
    await ack();
    // A foreign or truncated payload is treated as no alert: the service answers that.
    const meta = parseModalMetadata(view.private_metadata, modalMeta) ?? {};
    const kind = modalValue(view.state.values, 'kind') ?? 'note';
    const note = modalValue(view.state.values, 'note') ?? '';
    const reply = await guarded(ctx.logger, 'warning follow-up', async () => {
      const outcome = await actOnWarning(ctx, {
        alertId: meta.alertId ?? '',
        action: 'follow_up',
        userId: body.user.id,
        followUp: { kind, note },
      });
      return plainReply(outcome.kind === 'done' ? `✅ ${outcome.note}` : outcome.message);
    });
    if (meta.channel) {
      await ctx.slack
        .postEphemeral({ channel: meta.channel, user: body.user.id, text: reply.text, blocks: reply.blocks })
        .catch((error: Error) => ctx.logger.warn({ err: error.message }, 'could not confirm the follow-up'));
    }
  });
}
