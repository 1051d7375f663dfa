import type { Generated } from 'kysely';
import type { Numeric, Timestamp } from '../customers/customer.table.js';

/** Segment userId → customer, learned from `group` (and resolvable `identify`) calls. */
export interface SegmentUserTable {
  user_id: string;
  customer_id: string;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export type StripeMatchedBy = 'id' | 'email_domain' | 'manual';

/** Stripe customer id → customer. */
export interface StripeCustomerTable {
  stripe_customer_id: string;
  customer_id: string;
  matched_by: StripeMatchedBy;
  created_at: Generated<Timestamp>;
}

/** Applied Stripe events; the primary key makes a replayed event a no-op. */
export interface StripeEventTable {
  event_id: string;
  type: string;
  customer_id: string | null;
  stripe_customer_id: string | null;
  amount: Numeric | null;
  currency: string | null;
  stripe_created_at: Timestamp | null;
  received_at: Generated<Timestamp>;
}
