import { alertButtons } from '../alerts/warning.blocks.js';
import { BAND_EMOJI } from '../customers/format.js';
import { context, LIMITS, quote, section, type Block, type Reply } from '../slack/blocks.js';
import { USAGE } from '../commands/command.parser.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import type { FeedbackKind, FeedbackKindSource, InteractionKind } from './feedback.table.js';

/** Pure Block Kit builders for feedback and logged touches. User text is always escaped. */

export const KIND_EMOJI: Record<FeedbackKind, string> = {
  complaint: ':rage:',
  praise: ':tada:',
  suggestion: ':bulb:',
  question: ':grey_question:',
};

const name = (n: string) => `*${safeText(n, 200)}*`;
const ephemeral = (text: string, blocks: Block[]): Reply => ({ text: safeText(text, LIMITS.fallbackText), blocks, responseType: 'ephemeral' });

export function formatSentiment(s: number): string {
  const sign = s > 0 ? '+' : s < 0 ? '−' : '±';
  return `${sign}${Math.abs(s).toFixed(2)}`;
}

export function feedbackRecordedReply(o: {
  customerName: string;
  kind: FeedbackKind;
  kindSource: FeedbackKindSource;
  sentiment: number;
  text: string;
  alerted: { channel: string; ownerSlackId: string | null } | null;
}): Reply {
  const how = o.kindSource === 'tag' ? 'tagged' : o.kindSource === 'chosen' ? 'chosen' : 'classified from the text';
  const blocks: Block[] = [
    section(`${KIND_EMOJI[o.kind]} Logged a *${o.kind}* for ${name(o.customerName)} (sentiment ${formatSentiment(o.sentiment)}):\n> ${quote(o.text, 500)}`),
  ];
  if (o.alerted) {
    blocks.push(
      section(
        o.alerted.ownerSlackId
          ? `:rotating_light: ${name(o.customerName)} is a tier-A account: its owner ${mention(o.alerted.ownerSlackId)} has been alerted.`
          : `:rotating_light: ${name(o.customerName)} is a tier-A account with no owner: the team channel has been alerted.`,
      ),
    );
  }
  if (o.kindSource === 'auto') blocks.push(context(`Kind ${how}. Wrong? Log it again with a tag: #complaint #praise #suggestion #question`));
  return ephemeral(`Logged a ${o.kind} for ${o.customerName}`, blocks);
}

export function duplicateFeedbackReply(customerName: string, kind: FeedbackKind): Reply {
  return ephemeral(`That message is already logged for ${customerName}.`, [
    section(`That message is already logged as a *${kind}* for ${name(customerName)} — nothing changed.`),
  ]);
}

export function feedbackHelpReply(): Reply {
  return ephemeral('How to log customer feedback', [
    section(
      [
        '*Log customer feedback*',
        `\`${escapeMrkdwn(USAGE.feedback)}\``,
        'The kind comes from a tag (#complaint #praise #suggestion #question, or #投诉 #表扬 #建议 #问题); without one I classify the text (English or Chinese).',
        'Examples: `/feedback acme: export keeps timing out #complaint` · `/feedback 阿里巴巴: 非常好用，谢谢`',
      ].join('\n'),
    ),
    context('From any message: ⋯ → *Log as customer feedback*.'),
  ]);
}

export function complaintAlertNotice(o: {
  customerId: string;
  customerName: string;
  text: string;
  authorSlackId: string;
  ownerSlackId: string | null;
  health: number | null;
  band: 'green' | 'yellow' | 'red' | null;
  permalink: string | null;
  /** The complaint_tier_a alert: its buttons (follow-up, acknowledge, useful, false alarm) measure the rule's precision. */
  alertId?: string | null;
}): { text: string; blocks: Block[] } {
  const score = o.health !== null && o.band ? `${BAND_EMOJI[o.band]} health ${o.health} (${o.band})` : 'not scored yet';
  const to = o.ownerSlackId ? `${mention(o.ownerSlackId)}, ` : '';
  const blocks: Block[] = [
    section(`:rotating_light: ${to}complaint on tier-A account ${name(o.customerName)}, logged by ${mention(o.authorSlackId)}:\n> ${quote(o.text, 1_000)}`),
    context(
      `${score} · tier A · \`/customer ${escapeMrkdwn(o.customerName.slice(0, 80))}\` for the card${o.permalink && /^https:\/\//.test(o.permalink) ? ` · <${o.permalink.replace(/[<>|]/g, '')}|original message>` : ''}`,
    ),
    ...(o.alertId ? alertButtons(o.alertId, null) : []),
  ];
  return { text: safeText(`Complaint on tier-A account ${o.customerName}`, 300), blocks };
}

export function interactionLoggedReply(o: { customerName: string; kind: InteractionKind; note: string }): Reply {
  return ephemeral(`Logged a ${o.kind} with ${o.customerName}.`, [
    section(`:white_check_mark: Logged a *${o.kind}* with ${name(o.customerName)}:\n> ${quote(o.note, 500)}`),
    context('Last touch updated; the health score picks it up at the next scoring run.'),
  ]);
}
