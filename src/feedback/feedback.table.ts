import type { Generated } from 'kysely';
import type { Numeric, Timestamp } from '../customers/customer.table.js';

export const FEEDBACK_KINDS = ['complaint', 'praise', 'suggestion', 'question'] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];
export const INTERACTION_KINDS = ['call', 'meeting', 'email', 'qbr', 'note'] as const;
export type InteractionKind = (typeof INTERACTION_KINDS)[number];

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
