import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { loadCustomersCsv, seedRoster } from '../helpers/fixtures.js';

/** POST /api/v1/stripe with events signed the way Stripe signs them. */
const SECRET = 'whsec_test_0123456789abcdef';
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp('ingest_stripe', { env: { STRIPE_WEBHOOK_SECRET: SECRET } });
  await seedRoster(app.db);
  await loadCustomersCsv(
    app.db,
    `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
S1,Acme Corp,acme.com,pro,1000,,2027-01-01,,
S2,Globex,globex.com,basic,,USD,,,
S3,Twin A,twins.example,,,,,,
S4,Twin B,twins.example,,,,,,
`,
  );
});
afterAll(async () => app?.stop());

const now = () => Math.floor(Date.now() / 1000);

/** Stripe's scheme, written out independently of the code under test. */
function signature(payload: string, secret: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex')}`;
}

async function deliver(event: unknown, opts: { secret?: string; t?: number; header?: string | null } = {}) {
  const payload = JSON.stringify(event);
  const header = opts.header === undefined ? signature(payload, opts.secret ?? SECRET, opts.t ?? now()) : opts.header;
  const res = await fetch(`${app.baseUrl}/api/v1/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...(header ? { 'stripe-signature': header } : {}) },
    body: payload,
  });
  return { status: res.status, json: (await res.json()) as any };
}

const count = async (table: 'signals' | 'stripe_events' | 'stripe_customers') =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(app.db.db)).rows[0]!.n);
const counts = async () => [await count('signals'), await count('stripe_events'), await count('stripe_customers')];
const customer = (externalId: string) => app.db.db.selectFrom('customers').selectAll().where('external_id', '=', externalId).executeTakeFirstOrThrow();

let seq = 0;
function event(type: string, object: Record<string, unknown>, id = `evt_${++seq}`) {
  return { id, object: 'event', api_version: '2024-06-20', created: now() - 60, livemode: false, type, data: { object } };
}
const invoicePaid = (extra: Record<string, unknown> = {}) =>
  event('invoice.paid', {
    id: `in_${seq + 1}`,
    object: 'invoice',
    customer: 'cus_ACME',
    customer_email: 'billing@acme.com',
    amount_paid: 129_900,
    amount_due: 129_900,
    currency: 'usd',
    status: 'paid',
    status_transitions: { paid_at: 1_795_000_000 },
    ...extra,
  });

describe('signature', () => {
  it('rejects a bad signature with 400 and writes nothing', async () => {
    const before = await counts();
    const res = await deliver(invoicePaid(), { secret: 'whsec_wrong' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/does not match/);
    expect(await counts()).toEqual(before);
  });

  it('rejects a correctly signed but stale delivery (older than 5 minutes) with 400 and writes nothing', async () => {
    const before = await counts();
    const res = await deliver(invoicePaid(), { t: now() - 6 * 60 });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/tolerance/);
    expect(await counts()).toEqual(before);
  });

  it('rejects a missing header with 400', async () => {
    const res = await deliver(invoicePaid(), { header: null });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/Stripe-Signature header is missing/);
  });

  it('accepts a header carrying several v1 signatures when one matches (secret rotation)', async () => {
    const e = event('customer.created', { id: 'cus_X' });
    const payload = JSON.stringify(e);
    const t = now();
    const good = signature(payload, SECRET, t).split(',')[1];
    const res = await deliver(e, { header: `t=${t},v1=${'ab'.repeat(32)},${good}` });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ received: true, handled: false });
  });
});

describe('events', () => {
  it('invoice.paid → order signal in major units, matched by billing email domain; mapping stored', async () => {
    const stamp = new Date('2020-01-01T00:00:00Z');
    await app.db.db.updateTable('customers').set({ data_changed_at: stamp }).where('external_id', '=', 'S1').execute();
    const e = invoicePaid();
    const res = await deliver(e);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ received: true, matched: true, duplicate: false, effect: 'order' });
    const c = await customer('S1');
    const signals = await app.db.db.selectFrom('signals').selectAll().where('customer_id', '=', c.id).execute();
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ kind: 'order', source: 'stripe', external_id: e.data.object.id });
    expect(Number(signals[0]!.value)).toBe(1299);
    expect(signals[0]!.occurred_at.toISOString()).toBe(new Date(1_795_000_000 * 1000).toISOString());
    expect(c.currency).toBe('USD'); // filled from the invoice when unknown
    expect(c.data_changed_at.getTime()).toBeGreaterThan(stamp.getTime());
    const mapping = await app.db.db.selectFrom('stripe_customers').selectAll().where('stripe_customer_id', '=', 'cus_ACME').executeTakeFirstOrThrow();
    expect(mapping).toMatchObject({ customer_id: c.id, matched_by: 'email_domain' });
    const ledger = await app.db.db.selectFrom('stripe_events').selectAll().where('event_id', '=', e.id).executeTakeFirstOrThrow();
    expect(ledger).toMatchObject({ type: 'invoice.paid', customer_id: c.id, currency: 'USD' });
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toContain('retain_signals_ingested_total{kind="order",source="stripe"} 1');

    // The same event again (Stripe retries, dashboard resends): ignored.
    const before = await counts();
    const replay = await deliver(e);
    expect(replay.status).toBe(200);
    expect(replay.json).toMatchObject({ matched: true, duplicate: true });
    expect(await counts()).toEqual(before);
  });

  it('invoice.payment_failed → payment_failed signal, matched by the stored Stripe customer id', async () => {
    const res = await deliver(
      event('invoice.payment_failed', { id: 'in_fail', object: 'invoice', customer: 'cus_ACME', customer_email: null, amount_due: 5000, currency: 'usd' }),
    );
    expect(res.json).toMatchObject({ matched: true, effect: 'payment_failed' });
    const c = await customer('S1');
    const failed = await app.db.db.selectFrom('signals').selectAll().where('customer_id', '=', c.id).where('kind', '=', 'payment_failed').execute();
    expect(failed).toHaveLength(1);
    expect(Number(failed[0]!.value)).toBe(50);
  });

  it('customer.subscription.updated → ARR (normalised to a year) and renewal date', async () => {
    const periodEnd = Date.UTC(2027, 4, 15, 12) / 1000;
    const res = await deliver(
      event('customer.subscription.updated', {
        id: 'sub_1',
        object: 'subscription',
        customer: 'cus_ACME',
        status: 'active',
        currency: 'usd',
        current_period_end: periodEnd,
        items: {
          data: [
            { quantity: 10, price: { unit_amount: 4_900, currency: 'usd', recurring: { interval: 'month', interval_count: 1 } } },
            { quantity: 1, price: { unit_amount: 30_000, currency: 'usd', recurring: { interval: 'month', interval_count: 3 } } },
            { quantity: 1, price: { unit_amount: null, currency: 'usd', recurring: { interval: 'month', usage_type: 'metered' } } },
          ],
        },
      }),
    );
    expect(res.json).toMatchObject({ matched: true, effect: 'subscription' });
    const c = await customer('S1');
    expect(Number(c.arr)).toBe(49 * 10 * 12 + 300 * 4); // 5880 + 1200
    expect(c.renewal_date).toBe('2027-05-15');
    expect(c.currency).toBe('USD');
  });

  it('a subscription’s start_date becomes the contract start (the earliest one seen)', async () => {
    const sub = (id: string, start: number) =>
      event('customer.subscription.created', { id, object: 'subscription', customer: 'cus_ACME', status: 'active', start_date: start, items: { data: [] } });
    expect((await deliver(sub('sub_10', Date.UTC(2025, 2, 1) / 1000))).json).toMatchObject({ matched: true, effect: 'subscription' });
    expect(new Date((await customer('S1')).started_at!).toISOString()).toBe('2025-03-01T00:00:00.000Z');
    // A later subscription (an add-on) does not move the contract start.
    await deliver(sub('sub_11', Date.UTC(2026, 5, 1) / 1000));
    expect(new Date((await customer('S1')).started_at!).toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });

  it('customer.subscription.deleted → churned with churned_at', async () => {
    const endedAt = 1_796_000_000;
    const res = await deliver(
      event('customer.subscription.deleted', {
        id: 'sub_2',
        object: 'subscription',
        customer: { id: 'cus_GLOBEX', email: 'ap@globex.com' },
        status: 'canceled',
        ended_at: endedAt,
      }),
    );
    expect(res.json).toMatchObject({ matched: true, effect: 'churned' });
    const c = await customer('S2');
    expect(c.status).toBe('churned');
    expect(c.churned_at?.toISOString()).toBe(new Date(endedAt * 1000).toISOString());
  });

  it('an event for no known customer → 200 matched:false, nothing written', async () => {
    const before = await counts();
    const res = await deliver(invoicePaid({ customer: 'cus_NOBODY', customer_email: 'x@unknown.example' }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ received: true, matched: false });
    // A domain shared by two customers matches neither.
    const twins = await deliver(invoicePaid({ customer: 'cus_TWIN', customer_email: 'ap@twins.example' }));
    expect(twins.json.matched).toBe(false);
    expect(await counts()).toEqual(before);
  });

  it('answers unhandled event types 200 without writing', async () => {
    const before = await counts();
    const res = await deliver(event('charge.refunded', { id: 'ch_1' }));
    expect(res.json).toEqual({ received: true, handled: false });
    expect(await counts()).toEqual(before);
  });
});
