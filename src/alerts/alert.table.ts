import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { Numeric, Timestamp } from '../customers/customer.table.js';
import type { StoredDriver } from '../scores/score.table.js';

export const CHURN_REASONS = ['price', 'product_gap', 'competitor', 'budget', 'champion_left', 'other'] as const;
export type ChurnReason = (typeof CHURN_REASONS)[number];
export type AlertRule = 'red_band' | 'score_drop' | 'p_alive' | 'complaint_tier_a';

export interface RenewalTable {
  id: Generated<string>;
  customer_id: string;
  renewal_date: ColumnType<string, string, string>;
  outcome: 'renewed' | 'churned' | null;
  churn_reason: ChurnReason | null;
  churn_note: string | null;
  arr: Numeric | null;
  owner_member_id: number | null;
  team_id: number | null;
  tier: string | null;
  decided_at: Timestamp | null;
  decided_by_slack_id: string | null;
  snoozed_until: Timestamp | null;
  created_at: Timestamp;
}

export interface AlertTable {
  id: Generated<string>;
  customer_id: string;
  rule: AlertRule;
  episode: number;
  status: Generated<'open' | 'acknowledged' | 'snoozed' | 'resolved'>;
  health: number | null;
  band: string | null;
  p_alive: number | null;
  drivers: JSONColumnType<StoredDriver[], string, string>;
  raised_at: Timestamp;
  acknowledged_at: Timestamp | null;
  acknowledged_by_slack_id: string | null;
  snoozed_until: Timestamp | null;
  resolved_at: Timestamp | null;
  verdict: 'useful' | 'false_alarm' | null;
  verdict_by_slack_id: string | null;
  verdict_at: Timestamp | null;
  /** Every rule that fired when raised; `rule` is the main one (precision is measured per `rule`). */
  triggers: ColumnType<AlertRule[], AlertRule[] | undefined, AlertRule[]>;
  /** Who did what on the message, oldest first; the message is re-rendered from it. */
  activity: JSONColumnType<AlertActivity[], string, string>;
  resolved_reason: string | null;
}

export interface AlertActivity {
  at: string;
  by: string;
  what: 'acknowledged' | 'snoozed' | 'useful' | 'false_alarm' | 'follow_up';
  /** e.g. the snooze end (ISO) or the interaction kind. */
  detail?: string;
}

export interface NotificationTable {
  id: Generated<string>;
  dedupe_key: string;
  kind: string;
  channel_id: string;
  /** update_ts: edit that message of ours in place (chat.update) instead of posting. */
  payload: JSONColumnType<{ text: string; blocks?: unknown[]; thread_ts?: string; update_ts?: string }, string, string>;
  status: Generated<'pending' | 'sending' | 'sent' | 'failed'>;
  attempts: Generated<number>;
  last_error: string | null;
  customer_id: string | null;
  team_id: number | null;
  posted_channel_id: string | null;
  message_ts: string | null;
  sending_started_at: Timestamp | null;
  /** The delivery job that owns the row (only it may claim the row). */
  delivery_job: string | null;
  /** The delivery execution holding the row while it is being sent, and until when (a crashed one's lease runs out). */
  claim_token: string | null;
  lease_until: Timestamp | null;
  created_at: Timestamp;
  sent_at: Timestamp | null;
  updated_at: Timestamp;
}
