import type { App, MessageShortcut, ViewSubmitAction } from '@slack/bolt';
import { searchCustomers } from '../customers/lookup.service.js';
import type { AppContext } from '../platform/context.js';
import { isBusy, isUnavailable } from '../platform/errors.js';
import { BLOCKS, ACTIONS, SHORTCUTS, VIEWS } from '../slack/ids.js';
import { classifyFeedback } from './classify.rules.js';
import { attachPermalink, logShortcutFeedback } from './feedback.service.js';
import { customerOptions, decodeMeta, feedbackLoggedModal, feedbackModal, notMemberModal, readSubmission } from './shortcut.view.js';

/**
 * Thin listeners for the "Log as customer feedback" message shortcut (modal
 * opened first: its trigger_id lives 3 s), the modal's submission, and the
 * customer search behind its select. /feedback itself is a slash handler.
 */
export function registerFeedbackListeners(app: App, ctx: AppContext): void {
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
      await ack({
        response_action: 'update',
        view: feedbackLoggedModal({ customerName: '?', kind: 'suggestion', alertedOwner: null, alertedTeam: false, duplicate: false }) as never,
      });
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
    // Slack wants the modal's next state in the ack itself (within 3 s), so the write runs before it.
    try {
      const r = await logShortcutFeedback(ctx, {
        userId: body.user.id,
        customerId: sub.customerId,
        text: sub.text,
        chosenKind: sub.kind,
        suggestedKind: meta.k,
        message: { channel: meta.c, ts: meta.t },
      });
      if (r.kind === 'not_member') {
        await ack({ response_action: 'update', view: notMemberModal(body.user.id) as never });
        return;
      }
      if (r.kind === 'not_found') {
        await ack({ response_action: 'errors', errors: { [BLOCKS.feedbackCustomer]: 'That customer no longer exists; pick another.' } });
        return;
      }
      const logged =
        r.kind === 'duplicate'
          ? feedbackLoggedModal({ customerName: r.customerName, kind: r.existingKind, alertedOwner: null, alertedTeam: false, duplicate: true })
          : feedbackLoggedModal({
              customerName: r.customerName,
              kind: r.feedbackKind,
              alertedOwner: r.alerted?.ownerSlackId ?? null,
              alertedTeam: !!r.alerted && !r.alerted.ownerSlackId,
              duplicate: false,
            });
      await ack({ response_action: 'update', view: logged as never });
      if (r.kind === 'recorded') await attachPermalink(ctx, r.feedbackId, meta.c, meta.t);
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message, unavailable: isUnavailable(error) }, 'feedback modal submission failed');
      await ack({
        response_action: 'errors',
        errors: {
          [BLOCKS.feedbackText]: isBusy(error)
            ? 'retain is busy — try again in a few seconds.'
            : isUnavailable(error)
              ? 'retain cannot reach its database right now. Nothing was saved — try again shortly.'
              : 'Something went wrong and nothing was saved. Please try again.',
        },
      });
    }
  });

  app.options({ action_id: ACTIONS.feedbackCustomer }, async ({ options, ack }) => {
    const query = (options as { value?: string }).value ?? '';
    try {
      await ack(customerOptions(await searchCustomers(ctx, query, 20)) as never);
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message }, 'customer options failed');
      await ack({ options: [] });
    }
  });
}
