import type { Generated } from 'kysely';
import type { Numeric, Timestamp } from '../customers/customer.table.js';

export const FEEDBACK_KINDS = ['complaint', 'praise', 'suggestion', 'question'] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];
export const INTERACTION_KINDS = ['call', 'meeting', 'email', 'qbr', 'note'] as const;
export type InteractionKind = (typeof INTERACTION_KINDS)[number];
export type FeedbackKindSource = 'tag' | 'auto' | 'chosen';

export interface FeedbackTable {
  id: Generated<string>;
  customer_id: string;
  author_slack_id: string;
  kind: FeedbackKind;
  sentiment: Numeric;
  text: string;
  source: Generated<string>;
  message_permalink: string | null;
  created_at: Timestamp;
  /** Where the kind came from: a #tag, the classifier, or picked in the shortcut modal. */
  kind_source: Generated<FeedbackKindSource>;
  /** The Slack message it was logged from (message shortcut). */
  message_channel_id: string | null;
  message_ts: string | null;
  /** The complaint_tier_a alert this feedback raised, if any. */
  alert_id: string | null;
}

export interface InteractionTable {
  id: Generated<string>;
  customer_id: string;
  author_slack_id: string;
  kind: InteractionKind;
  note: Generated<string>;
  occurred_at: Timestamp;
  created_at: Timestamp;
}
