import type { App, MessageShortcut, ViewSubmitAction } from '@slack/bolt';
import { findCandidates } from '../customers/customer.repository.js';
import { findActor } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import { isUnavailable } from '../platform/errors.js';
import { metrics } from '../platform/metrics.js';
import { BLOCKS, COMMANDS, ACTIONS, SHORTCUTS, VIEWS } from '../slack/ids.js';
import { toRespond } from '../slack/respond.js';
import { classifyFeedback, lexiconCounts, sentimentFor, sentimentFromCounts } from './classify.rules.js';
import { handleFeedbackCommand } from './feedback.command.js';
import { attachPermalink, recordFeedback } from './feedback.service.js';
import { customerOptions, decodeMeta, feedbackLoggedModal, feedbackModal, notMemberModal, readSubmission } from './shortcut.view.js';

/**
 * Thin listeners for feedback: the /feedback command, the "Log as customer
 * feedback" message shortcut (modal opened first: its trigger_id lives 3 s),
 * the modal's submission, and the customer search behind its select.
 */
export function registerFeedbackListeners(app: App, ctx: AppContext): void {
  app.command(COMMANDS.feedback, async ({ command, ack, respond }) => {
    await ack();
    const reply = await metrics.slashLatency.time({ command: '/feedback' }, () =>
      handleFeedbackCommand(ctx, { userId: command.user_id, channelId: command.channel_id, text: command.text ?? '', triggerId: command.trigger_id }),
    );
    await respond(toRespond(reply));
  });

  app.shortcut<MessageShortcut>(SHORTCUTS.logFeedback, async ({ shortcut, ack }) => {
    await ack();
    // Nothing before views.open but pure work: the trigger_id dies after 3 seconds.
    const text = shortcut.message?.text ?? '';
    const view = feedbackModal({
      text,
      channel: shortcut.channel.id,
      ts: shortcut.message_ts ?? shortcut.message.ts,
      authorSlackId: (shortcut.message as { user?: string }).user ?? null,
      suggested: classifyFeedback(text).kind,
    });
    try {
      await ctx.slack.openView(shortcut.trigger_id, view);
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message }, 'could not open the feedback modal');
    }
  });

  app.view<ViewSubmitAction>(VIEWS.feedbackModal, async ({ ack, body, view }) => {
    const meta = decodeMeta(view.private_metadata);
    const sub = readSubmission(view.state.values);
    if (!meta) {
      await ack({ response_action: 'update', view: feedbackLoggedModal({ customerName: '?', kind: 'suggestion', alertedOwner: null, alertedTeam: false, duplicate: false }) as never });
      return;
    }
    if (!sub.customerId) {
      await ack({ response_action: 'errors', errors: { [BLOCKS.feedbackCustomer]: 'Pick the customer from the list.' } });
      return;
    }
    if (!sub.text) {
      await ack({ response_action: 'errors', errors: { [BLOCKS.feedbackText]: 'The feedback text is missing.' } });
      return;
    }
    try {
      const actor = await findActor(ctx.db, body.user.id);
      if (!actor) {
        await ack({ response_action: 'update', view: notMemberModal(body.user.id) as never });
        return;
      }
      const kind = sub.kind ?? meta.k;
      const r = await recordFeedback(ctx, {
        authorSlackId: actor.slackUserId,
        customerId: sub.customerId,
        text: sub.text,
        kind,
        kindSource: kind === meta.k ? 'auto' : 'chosen',
        sentiment: sentimentFor(kind, sentimentFromCounts(lexiconCounts(sub.text))),
        source: 'shortcut',
        message: { channel: meta.c, ts: meta.t },
      });
      if (r.kind === 'not_found') {
        await ack({ response_action: 'errors', errors: { [BLOCKS.feedbackCustomer]: 'That customer no longer exists; pick another.' } });
        return;
      }
      const logged =
        r.kind === 'duplicate'
          ? feedbackLoggedModal({ customerName: r.customerName, kind: r.existingKind, alertedOwner: null, alertedTeam: false, duplicate: true })
          : feedbackLoggedModal({ customerName: r.customerName, kind: r.feedbackKind, alertedOwner: r.alerted?.ownerSlackId ?? null, alertedTeam: !!r.alerted && !r.alerted.ownerSlackId, duplicate: false });
      await ack({ response_action: 'update', view: logged as never });
      if (r.kind === 'recorded') await attachPermalink(ctx, r.feedbackId, meta.c, meta.t);
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message, unavailable: isUnavailable(error) }, 'feedback modal submission failed');
      await ack({
        response_action: 'errors',
        errors: { [BLOCKS.feedbackText]: isUnavailable(error) ? 'retain cannot reach its database right now. Nothing was saved — try again shortly.' : 'Something went wrong and nothing was saved. Please try again.' },
      });
    }
  });

  app.options({ action_id: ACTIONS.feedbackCustomer }, async ({ options, ack }) => {
    const query = (options as { value?: string }).value ?? '';
    try {
      await ack(customerOptions(query.trim() ? await findCandidates(ctx.readDb, query.slice(0, 200), 20) : []) as never);
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message }, 'customer options failed');
      await ack({ options: [] });
    }
  });
}
