import { customerOrReply, settleLeadingCustomer } from '../customers/lookup.command.js';
import { resumeWith } from '../commands/resume.js';
import { notMemberReply } from '../ownership/ownership.blocks.js';
import { findActor } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import { plainReply, type Reply } from '../slack/blocks.js';
import { parseFeedbackCommand, type CustomerCommand } from '../commands/command.parser.js';
import type { CommandInput } from '../slack/slash.js';
import { guarded } from '../slack/guard.js';
import { invalidReply } from '../slack/replies.js';
import { classifyFeedback } from './classify.rules.js';
import { duplicateFeedbackReply, feedbackHelpReply, feedbackRecordedReply, interactionLoggedReply } from './feedback.blocks.js';
import { logInteraction, recordFeedback } from './feedback.service.js';

/** `/feedback <customer>: <text>`: parse → member → customer → classify → store. */
export async function handleFeedbackCommand(ctx: AppContext, input: CommandInput): Promise<Reply> {
  const parsed = parseFeedbackCommand(input.text);
  return guarded(ctx.logger, `/feedback ${parsed.kind}`, async () => {
    if (parsed.kind === 'help') return feedbackHelpReply();
    if (parsed.kind === 'invalid') return invalidReply(parsed.problem, parsed.usage);
    const actor = await findActor(ctx.db, input.userId);
    if (!actor) return notMemberReply(input.userId);
    // "falcon hospitality group #praise …": the customer is the longest leading run of words that names one.
    const command = await settleLeadingCustomer(ctx, parsed);
    const found = await customerOrReply(ctx, command.query, resumeWith('/feedback', command));
    if (found.reply) return found.reply;
    const c = classifyFeedback(command.text);
    const r = await recordFeedback(ctx, {
      authorSlackId: actor.slackUserId,
      customerId: found.customer.id,
      text: c.text,
      kind: c.kind,
      kindSource: c.source,
      sentiment: c.sentiment,
      source: 'slash',
    });
    if (r.kind === 'not_found') return plainReply('That customer no longer exists.');
    if (r.kind === 'duplicate') return duplicateFeedbackReply(r.customerName, r.existingKind);
    return feedbackRecordedReply({
      customerName: r.customerName,
      kind: r.feedbackKind,
      kindSource: r.kindSource,
      sentiment: r.sentiment,
      text: c.text,
      alerted: r.alerted,
    });
  });
}

/** `/customer log <customer> <kind> <text>`. */
export async function logCommand(ctx: AppContext, input: CommandInput, typed: Extract<CustomerCommand, { kind: 'log' }>): Promise<Reply> {
  const actor = await findActor(ctx.db, input.userId);
  if (!actor) return notMemberReply(input.userId);
  const cmd = await settleLeadingCustomer(ctx, typed);
  const found = await customerOrReply(ctx, cmd.query, resumeWith('/customer', cmd));
  if (found.reply) return found.reply;
  const logged = await logInteraction(ctx, { authorSlackId: actor.slackUserId, customerId: found.customer.id, kind: cmd.interaction, note: cmd.text });
  if (!logged) return plainReply('That customer no longer exists.');
  return interactionLoggedReply({ customerName: found.customer.name, kind: cmd.interaction, note: cmd.text });
}
