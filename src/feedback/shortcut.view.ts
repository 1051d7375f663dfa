import type { Candidate } from '../customers/lookup.rules.js';
import { ADD_MEMBER_HINT } from '../ownership/ownership.blocks.js';
import { context, section, type Block } from '../slack/blocks.js';
import { channelLink, escapeMrkdwn, mention, safeText, truncate } from '../slack/escape.js';
import { ACTIONS, BLOCKS, VIEWS } from '../slack/ids.js';
import { FEEDBACK_KINDS, type FeedbackKind } from './feedback.table.js';
import { z } from 'zod';
import { parseModalMetadata } from '../slack/interaction.js';

/**
 * Pure builders for the "Log as customer feedback" modal (message shortcut),
 * its answers, and the customer options of its external select.
 */

/** What the modal carries from the shortcut to the submission. */
export interface FeedbackModalMeta {
  /** channel and ts of the message */
  c: string;
  t: string;
  /** the kind suggested by the classifier */
  k: FeedbackKind;
}

export const MAX_INPUT = 3_000;
const OPTION_TEXT = 75;

const KIND_LABEL: Record<FeedbackKind, string> = {
  complaint: 'Complaint',
  praise: 'Praise',
  suggestion: 'Suggestion',
  question: 'Question',
};

const kindOption = (k: FeedbackKind) => ({ text: { type: 'plain_text', text: KIND_LABEL[k] }, value: k });

export function encodeMeta(meta: FeedbackModalMeta): string {
  return JSON.stringify(meta);
}

const metaSchema = z.object({ c: z.string(), t: z.string(), k: z.enum(FEEDBACK_KINDS) });
/** The modal's private_metadata (the message's channel and ts, and the suggested kind); null when not ours. */
export function decodeMeta(raw: unknown): FeedbackModalMeta | null {
  return typeof raw === 'string' ? parseModalMetadata(raw, metaSchema) : null;
}

export function feedbackModal(o: {
  text: string;
  channel: string;
  ts: string;
  authorSlackId: string | null;
  suggested: FeedbackKind;
}): Record<string, unknown> {
  const blocks: Block[] = [
    context(`From a message${o.authorSlackId ? ` by ${mention(o.authorSlackId)}` : ''} in ${channelLink(o.channel)}`),
    {
      type: 'input',
      block_id: BLOCKS.feedbackCustomer,
      label: { type: 'plain_text', text: 'Customer' },
      element: {
        type: 'external_select',
        action_id: ACTIONS.feedbackCustomer,
        placeholder: { type: 'plain_text', text: 'Type a name, domain or id' },
        min_query_length: 1,
      },
    },
    {
      type: 'input',
      block_id: BLOCKS.feedbackKind,
      label: { type: 'plain_text', text: 'Kind' },
      element: {
        type: 'static_select',
        action_id: ACTIONS.feedbackKind,
        options: FEEDBACK_KINDS.map(kindOption),
        initial_option: kindOption(o.suggested),
      },
      hint: { type: 'plain_text', text: `Suggested from the text: ${KIND_LABEL[o.suggested].toLowerCase()}.` },
    },
    {
      type: 'input',
      block_id: BLOCKS.feedbackText,
      label: { type: 'plain_text', text: 'Feedback' },
      element: {
        type: 'plain_text_input',
        action_id: ACTIONS.feedbackText,
        multiline: true,
        max_length: MAX_INPUT,
        ...(o.text.trim() ? { initial_value: truncate(o.text, MAX_INPUT) } : {}),
      },
    },
  ];
  return {
    type: 'modal',
    callback_id: VIEWS.feedbackModal,
    title: { type: 'plain_text', text: 'Customer feedback' },
    submit: { type: 'plain_text', text: 'Log feedback' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: encodeMeta({ c: o.channel, t: o.ts, k: o.suggested }),
    blocks,
  };
}

/** A read-only modal with one message (after logging, or to explain a refusal). */
export function messageModal(title: string, mrkdwn: string): Record<string, unknown> {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: truncate(title, 24) },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [section(mrkdwn)],
  };
}

export function feedbackLoggedModal(o: {
  customerName: string;
  kind: FeedbackKind;
  alertedOwner: string | null;
  alertedTeam: boolean;
  duplicate: boolean;
}): Record<string, unknown> {
  if (o.duplicate) return messageModal('Already logged', `That message is already logged as a *${o.kind}* for *${safeText(o.customerName, 200)}*.`);
  const lines = [`:white_check_mark: Logged a *${o.kind}* for *${safeText(o.customerName, 200)}*.`];
  if (o.alertedOwner) lines.push(`:rotating_light: Tier-A account: ${mention(o.alertedOwner)} has been alerted.`);
  else if (o.alertedTeam) lines.push(':rotating_light: Tier-A account with no owner: the team channel has been alerted.');
  return messageModal('Feedback logged', lines.join('\n'));
}

export function notMemberModal(slackUserId: string): Record<string, unknown> {
  return messageModal(
    'Not set up yet',
    `You are not set up in retain yet, so you cannot log feedback. Ask an admin to add you:\n\`${escapeMrkdwn(ADD_MEMBER_HINT(slackUserId))}\``,
  );
}

/** The external select's options: fuzzy matches, best first. */
export function customerOptions(candidates: readonly Candidate[]): { options: { text: { type: 'plain_text'; text: string }; value: string }[] } {
  return {
    options: candidates.slice(0, 100).map((c) => ({
      text: { type: 'plain_text', text: truncate(c.domain ? `${c.name} (${c.domain})` : c.name, OPTION_TEXT) },
      value: c.id,
    })),
  };
}

/** Values of a view_submission, as the modal defines them. */
export function readSubmission(values: unknown): { customerId: string | null; kind: FeedbackKind | null; text: string } {
  const v = (values ?? {}) as Record<string, Record<string, { selected_option?: { value?: string } | null; value?: string | null }>>;
  const customerId = v[BLOCKS.feedbackCustomer]?.[ACTIONS.feedbackCustomer]?.selected_option?.value ?? null;
  const kind = v[BLOCKS.feedbackKind]?.[ACTIONS.feedbackKind]?.selected_option?.value ?? null;
  const text = v[BLOCKS.feedbackText]?.[ACTIONS.feedbackText]?.value ?? '';
  return {
    customerId: customerId && /^\d{1,18}$/.test(customerId) ? customerId : null,
    kind: kind && (FEEDBACK_KINDS as readonly string[]).includes(kind) ? (kind as FeedbackKind) : null,
    text: text.trim(),
  };
}
