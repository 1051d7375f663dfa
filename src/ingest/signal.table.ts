import type { Generated } from 'kysely';
import type { Numeric, Timestamp } from '../customers/customer.table.js';

export const SIGNAL_KINDS = ['order', 'usage', 'ticket', 'complaint', 'payment_failed', 'nps'] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

export interface SignalTable {
  id: Generated<string>;
  customer_id: string;
  kind: SignalKind;
  occurred_at: Timestamp;
  value: Numeric | null;
  external_id: string | null;
  dedupe_key: string;
  source: Generated<string>;
  ingested_at: Timestamp;
}
