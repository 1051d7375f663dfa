import { createHmac, timingSafeEqual } from 'node:crypto';
import { emailDomain, nulProblem } from './api.rules.js';

/**
 * Stripe webhooks, pure: signature verification (clock passed in) and the
 * mapping of an event to its effect on a customer.
 */
export const STRIPE_TOLERANCE_SECONDS = 300;

export type Verified = { ok: true } | { ok: false; reason: string };

/**
 * `Stripe-Signature: t=…,v1=…[,v1=…]`: HMAC-SHA256 over `${t}.${rawBody}` with
 * the endpoint secret, compared in constant time against every v1; the
 * timestamp must be within the tolerance of now (replayed captures fail).
 */
export function verifyStripeSignature(
  header: string | undefined,
  rawBody: Buffer,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = STRIPE_TOLERANCE_SECONDS,
): Verified {
  if (!header) return { ok: false, reason: 'Stripe-Signature header is missing' };
  let t: number | null = null;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) v1.push(Buffer.from(v, 'hex'));
  }
  if (t === null) return { ok: false, reason: 'Stripe-Signature has no timestamp (t=…)' };
  if (v1.length === 0) return { ok: false, reason: 'Stripe-Signature has no v1 signature' };
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  // Check every candidate (no early exit), each compare constant-time on equal lengths.
  let match = false;
  for (const sig of v1) match = timingSafeEqual(expected, sig) || match;
  if (!match) return { ok: false, reason: 'Stripe-Signature does not match the payload (check STRIPE_WEBHOOK_SECRET)' };
  if (Math.abs(nowSeconds - t) > toleranceSeconds)
    return { ok: false, reason: `Stripe-Signature timestamp is outside the ${toleranceSeconds}-second tolerance` };
  return { ok: true };
}

/** Header value for a payload, as Stripe computes it (tests, local tools). */
export function stripeSignatureHeader(payload: string | Buffer, secret: string, timestamp: number): string {
  const sig = createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');
  return `t=${timestamp},v1=${sig}`;
}

// ───────────────────────── events ─────────────────────────

export const STRIPE_EVENT_TYPES = [
  'invoice.paid',
  'invoice.payment_failed',
  'customer.subscription.deleted',
  'customer.subscription.updated',
  'customer.subscription.created',
] as const;
export type StripeEventType = (typeof STRIPE_EVENT_TYPES)[number];

export type StripeEffect =
  | {
      kind: 'signal';
      signal: { kind: 'order' | 'payment_failed'; occurredAt: string; value: string | null; externalId: string };
      amount: string | null;
      currency: string | null;
    }
  | { kind: 'churned'; at: string }
  | { kind: 'subscription'; arr: string | null; currency: string | null; renewalDate: string | null; startedAt: string | null };

export type StripePlan =
  | { kind: 'invalid'; reason: string }
  | { kind: 'ignored'; eventId: string; type: string }
  | {
      kind: 'apply';
      eventId: string;
      type: StripeEventType;
      createdAt: string | null;
      stripeCustomerId: string | null;
      emailDomain: string | null;
      effect: StripeEffect;
    };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
const int = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : null;

// Stripe amounts are in the currency's smallest unit.
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Smallest-unit amount → decimal string in the currency's major unit (cents / 100). */
export function majorUnits(amount: number, currency: string | null): string {
  const c = (currency ?? '').toLowerCase();
  const decimals = ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
  return (amount / 10 ** decimals).toFixed(decimals);
}

const isoOfUnix = (s: number | null): string | null => (s === null ? null : new Date(s * 1000).toISOString());

const PER_YEAR: Record<string, number> = { day: 365, week: 52, month: 12, year: 1 };

/**
 * Annual recurring revenue of a subscription in major units: the sum over its
 * items of unit price × quantity, normalised to a year by interval and
 * interval_count. Items without a fixed unit price (metered, tiered) are left
 * out; none with one → null (unknown, never zero).
 */
export function subscriptionArr(subscription: Obj): { arr: string | null; currency: string | null } {
  const items = isObj(subscription.items) && Array.isArray(subscription.items.data) ? subscription.items.data : [];
  let total = 0;
  let priced = 0;
  let currency = str(subscription.currency);
  for (const item of items) {
    if (!isObj(item)) continue;
    const price = isObj(item.price) ? item.price : isObj(item.plan) ? item.plan : null;
    if (!price) continue;
    const unit = int(price.unit_amount) ?? int(price.unit_amount_decimal) ?? int(price.amount);
    const recurring = isObj(price.recurring) ? price.recurring : price;
    const interval = str(recurring.interval);
    const perYear = interval ? PER_YEAR[interval] : undefined;
    if (unit === null || perYear === undefined) continue;
    const count = int(recurring.interval_count) ?? 1;
    const quantity = int(item.quantity) ?? 1;
    total += (unit * quantity * perYear) / Math.max(1, count);
    priced++;
    currency ??= str(price.currency);
  }
  return { arr: priced ? majorUnits(Math.round(total), currency) : null, currency: currency ? currency.toUpperCase() : null };
}

function renewalDateOf(subscription: Obj): string | null {
  let end = int(subscription.current_period_end);
  // Newer API versions keep the period on each item.
  if (end === null && isObj(subscription.items) && Array.isArray(subscription.items.data)) {
    for (const item of subscription.items.data) if (isObj(item)) end = Math.max(end ?? 0, int(item.current_period_end) ?? 0) || end;
  }
  return end === null ? null : isoOfUnix(end)!.slice(0, 10);
}

export function planStripeEvent(event: unknown, ignoreEmailDomains: readonly string[]): StripePlan {
  if (!isObj(event)) return { kind: 'invalid', reason: 'expected a Stripe event object' };
  const nul = nulProblem(event);
  if (nul) return { kind: 'invalid', reason: nul };
  const eventId = str(event.id);
  const type = str(event.type);
  if (!eventId || !type) return { kind: 'invalid', reason: 'a Stripe event needs id and type' };
  if (!(STRIPE_EVENT_TYPES as readonly string[]).includes(type)) return { kind: 'ignored', eventId, type };
  const object = isObj(event.data) && isObj(event.data.object) ? event.data.object : null;
  if (!object) return { kind: 'invalid', reason: 'the event has no data.object' };
  const createdAt = isoOfUnix(int(event.created));
  const customer = object.customer;
  const stripeCustomerId = str(customer) ?? (isObj(customer) ? str(customer.id) : null);
  const email = str(object.customer_email) ?? (isObj(customer) ? str(customer.email) : null);
  const base = {
    kind: 'apply' as const,
    eventId,
    type: type as StripeEventType,
    createdAt,
    stripeCustomerId,
    emailDomain: email ? emailDomain(email, ignoreEmailDomains) : null,
  };
  const currency = str(object.currency);

  switch (type as StripeEventType) {
    case 'invoice.paid': {
      const invoiceId = str(object.id) ?? eventId;
      const paidAt = isObj(object.status_transitions) ? isoOfUnix(int(object.status_transitions.paid_at)) : null;
      const amount = int(object.amount_paid);
      const occurredAt = paidAt ?? createdAt;
      if (!occurredAt) return { kind: 'invalid', reason: 'invoice.paid has no paid_at and the event no created time' };
      const value = amount === null ? null : majorUnits(amount, currency);
      return {
        ...base,
        effect: {
          kind: 'signal',
          signal: { kind: 'order', occurredAt, value, externalId: invoiceId },
          amount: value,
          currency: currency?.toUpperCase() ?? null,
        },
      };
    }
    case 'invoice.payment_failed': {
      if (!createdAt) return { kind: 'invalid', reason: 'the event has no created time' };
      const amount = int(object.amount_due);
      const value = amount === null ? null : majorUnits(amount, currency);
      // Each failed attempt is its own signal: keyed by the event id.
      return {
        ...base,
        effect: {
          kind: 'signal',
          signal: { kind: 'payment_failed', occurredAt: createdAt, value, externalId: eventId },
          amount: value,
          currency: currency?.toUpperCase() ?? null,
        },
      };
    }
    case 'customer.subscription.deleted': {
      const at = isoOfUnix(int(object.ended_at)) ?? isoOfUnix(int(object.canceled_at)) ?? createdAt;
      if (!at) return { kind: 'invalid', reason: 'the event has no created time' };
      return { ...base, effect: { kind: 'churned', at } };
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated': {
      const { arr, currency: subCurrency } = subscriptionArr(object);
      // start_date: when the subscription began — the contract start the renewal model counts tenure from.
      const startedAt = isoOfUnix(int(object.start_date));
      return { ...base, effect: { kind: 'subscription', arr, currency: subCurrency, renewalDate: renewalDateOf(object), startedAt } };
    }
  }
}
