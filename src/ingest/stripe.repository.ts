import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { StripeMatchedBy } from './ingest.table.js';

/** Stripe's queries; each takes the transaction the event is applied in. */

/** Record an event as applied; false when it was applied before (a replay). */
export async function recordStripeEvent(
  trx: DbOrTrx,
  e: {
    eventId: string;
    type: string;
    customerId: string;
    stripeCustomerId: string | null;
    amount: string | null;
    currency: string | null;
    createdAt: string | null;
  },
): Promise<boolean> {
  const row = await trx
    .insertInto('stripe_events')
    .values({
      event_id: e.eventId,
      type: e.type,
      customer_id: e.customerId,
      stripe_customer_id: e.stripeCustomerId,
      amount: e.amount,
      currency: e.currency,
      stripe_created_at: e.createdAt,
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function rememberStripeCustomer(trx: DbOrTrx, stripeCustomerId: string, customerId: string, matchedBy: StripeMatchedBy): Promise<void> {
  await trx
    .insertInto('stripe_customers')
    .values({ stripe_customer_id: stripeCustomerId, customer_id: customerId, matched_by: matchedBy })
    .onConflict((oc) => oc.column('stripe_customer_id').doNothing())
    .execute();
}

export async function markChurned(trx: DbOrTrx, customerId: string, at: string): Promise<void> {
  await sql`
    UPDATE customers SET
      churned_at = CASE WHEN status = 'churned' AND churned_at IS NOT NULL THEN churned_at ELSE ${at}::timestamptz END,
      status = 'churned', data_changed_at = clock_timestamp(), updated_at = now()
    WHERE id = ${customerId}`.execute(trx);
}

/**
 * ARR, renewal date and contract start from a subscription; an unknown value
 * never erases a known one. The contract start is the earliest subscription
 * start seen: a customer's tenure counts from their first contract.
 */
export async function applySubscription(
  trx: DbOrTrx,
  customerId: string,
  s: { arr: string | null; currency: string | null; renewalDate: string | null; startedAt?: string | null },
): Promise<void> {
  await sql`
    UPDATE customers SET
      arr = coalesce(${s.arr}::numeric, arr),
      currency = CASE WHEN ${s.arr}::numeric IS NOT NULL THEN coalesce(${s.currency}::text, currency) ELSE currency END,
      renewal_date = coalesce(${s.renewalDate}::date, renewal_date),
      started_at = least(started_at, ${s.startedAt ?? null}::timestamptz),
      data_changed_at = clock_timestamp(), updated_at = now()
    WHERE id = ${customerId}`.execute(trx);
}

/** A customer without a currency takes the one its invoices are paid in. */
export async function fillCurrency(trx: DbOrTrx, customerId: string, currency: string): Promise<void> {
  await sql`UPDATE customers SET currency = ${currency}, updated_at = now() WHERE id = ${customerId} AND currency IS NULL`.execute(trx);
}
