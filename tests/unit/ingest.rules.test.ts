import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFileConfig } from '../../src/config/file.js';
import {
  checkArray,
  checkCustomerItems,
  checkEventItems,
  credentialOf,
  emailDomain,
  normalizeDomain,
  parseJson,
  tokenMatches,
} from '../../src/ingest/api.rules.js';
import { isOverload } from '../../src/ingest/api.gate.js';
import { messagesOf, planSegment, valueAt } from '../../src/ingest/segment.rules.js';
import { majorUnits, planStripeEvent, stripeSignatureHeader, subscriptionArr, verifyStripeSignature } from '../../src/ingest/stripe.rules.js';

const segment = parseFileConfig({}).ingest.segment;

describe('credentials', () => {
  it('compares tokens in constant time over digests, any length', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches('abcd', 'abc')).toBe(false);
    expect(tokenMatches('', 'abc')).toBe(false);
    expect(tokenMatches(null, 'abc')).toBe(false);
  });

  it('reads bearer tokens, and basic-auth user names only where allowed', () => {
    expect(credentialOf('Bearer t0k', false)).toBe('t0k');
    expect(credentialOf('bearer   t0k ', false)).toBe('t0k');
    const basic = `Basic ${Buffer.from('writekey:').toString('base64')}`;
    expect(credentialOf(basic, true)).toBe('writekey');
    expect(credentialOf(basic, false)).toBeNull();
    expect(credentialOf(`Basic ${Buffer.from('nocolon').toString('base64')}`, true)).toBe('nocolon');
    expect(credentialOf(undefined, true)).toBeNull();
    expect(credentialOf('Bearer', true)).toBeNull();
    expect(credentialOf('Token abc', true)).toBeNull();
  });
});

describe('batch shape', () => {
  it('explains malformed and empty JSON', () => {
    expect(parseJson('[1,')).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/not valid JSON/) });
    expect(parseJson('  ')).toMatchObject({ ok: false, status: 400, message: expect.stringMatching(/empty/) });
    expect(parseJson('[]')).toEqual({ ok: true, value: [] });
  });

  it('wants an array within the item limit', () => {
    expect(checkArray({}, 'events', 10)).toMatchObject({ ok: false, status: 400 });
    expect(checkArray([1, 2, 3], 'events', 2)).toMatchObject({ ok: false, status: 413, message: expect.stringMatching(/the limit is 2/) });
    expect(checkArray([1, 2], 'events', 2)).toMatchObject({ ok: true });
  });

  it('never throws on arbitrary JSON items, and accounts for every item', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 20 }), (items) => {
        const e = checkEventItems(items);
        expect(e.good.length + e.rejected.length).toBe(items.length);
        const c = checkCustomerItems(items);
        expect(c.good.length + c.rejected.filter((r) => r.code !== 'duplicate_in_batch').length).toBe(items.length);
        for (const r of [...e.rejected, ...c.rejected]) expect(r.reason.length).toBeGreaterThan(0);
      }),
    );
  });

  it('keeps the later of two customers with one external id, reporting the earlier', () => {
    const { good, rejected } = checkCustomerItems([
      { external_id: 'A', name: 'First' },
      { external_id: 'B', name: 'Other' },
      { external_id: 'A', name: 'Second' },
    ]);
    expect(good.map((g) => [g.index, g.name])).toEqual([
      [1, 'Other'],
      [2, 'Second'],
    ]);
    expect(rejected).toEqual([{ index: 0, reason: expect.stringMatching(/appears again at index 2/), code: 'duplicate_in_batch' }]);
  });
});

describe('domains', () => {
  it('normalises sites and reads company email domains, skipping public mail', () => {
    expect(normalizeDomain('https://www.Acme.com/pricing')).toBe('acme.com');
    expect(normalizeDomain('not a domain')).toBeNull();
    expect(emailDomain('Ada@Lovelace.IO', segment.ignoreEmailDomains)).toBe('lovelace.io');
    expect(emailDomain('someone@gmail.com', segment.ignoreEmailDomains)).toBeNull();
    expect(emailDomain('no-at-sign', segment.ignoreEmailDomains)).toBeNull();
  });
});

describe('Segment', () => {
  it('reads batch, single message and bare array bodies; batch context applies to its messages', () => {
    const r = messagesOf({ batch: [{ type: 'track' }, { type: 'track', context: { groupId: 'own' } }], context: { groupId: 'g' } });
    expect(r).toEqual({
      ok: true,
      messages: [
        { type: 'track', context: { groupId: 'g' } },
        { type: 'track', context: { groupId: 'own' } },
      ],
    });
    expect(messagesOf({ type: 'identify' })).toEqual({ ok: true, messages: [{ type: 'identify' }] });
    expect(messagesOf({ batch: 'x' })).toMatchObject({ ok: false });
    expect(messagesOf(42)).toMatchObject({ ok: false });
  });

  it('maps track events by name, "*" for the rest, value from the configured path', () => {
    const plan = planSegment(
      [
        { type: 'track', event: 'Order Completed', messageId: 'm1', userId: 'u', properties: { revenue: '19.90' }, timestamp: '2026-01-02T03:04:05Z' },
        { type: 'track', event: 'Clicked', messageId: 'm2', userId: 'u', originalTimestamp: '2026-01-02T03:04:05Z' },
      ],
      segment,
    );
    expect(plan.rejected).toEqual([]);
    expect(plan.tracks.map((t) => [t.event.kind, t.event.value, t.event.externalId])).toEqual([
      ['order', '19.9', 'm1'],
      ['usage', null, 'm2'],
    ]);
  });

  it('rejects unmapped events when there is no "*" rule', () => {
    const config = parseFileConfig({ ingest: { segment: { events: { 'NPS Submitted': { kind: 'nps', value: 'properties.score' } } } } }).ingest.segment;
    const plan = planSegment(
      [
        { type: 'track', event: 'Clicked', userId: 'u', timestamp: '2026-01-01' },
        { type: 'track', event: 'NPS Submitted', userId: 'u', properties: { score: 12 }, timestamp: '2026-01-01' },
        { type: 'track', event: 'NPS Submitted', userId: 'u', properties: { score: 9 }, timestamp: '2026-01-01' },
      ],
      config,
    );
    expect(plan.rejected.map((r) => [r.index, r.code])).toEqual([
      [0, 'unmapped_event'],
      [1, 'invalid'],
    ]);
    expect(plan.tracks).toHaveLength(1);
  });

  it('lists customer candidates in the configured order', () => {
    const plan = planSegment(
      [
        {
          type: 'track',
          event: 'X',
          userId: 'u1',
          timestamp: '2026-01-01',
          context: { groupId: 'g1', traits: { email: 'a@b-corp.com', domain: 'www.b-corp.com' } },
        },
      ],
      segment,
    );
    expect(plan.candidates.map((c) => [c.kind, c.value])).toEqual([
      ['external_id', 'g1'],
      ['domain', 'b-corp.com'],
      ['email_domain', 'b-corp.com'],
      ['segment_user', 'u1'],
    ]);
  });

  it('turns group traits into a customer row; a missing name means keep the stored one', () => {
    const plan = planSegment(
      [
        { type: 'group', groupId: 'acct', userId: 'u', traits: { name: 'Acme', website: 'acme.io', arr: '1,200' } },
        { type: 'group', groupId: 'acct2', traits: { plan: 'pro' } },
        { type: 'group', traits: { name: 'No id' } },
        { type: 'group', groupId: 'acct3', traits: { name: 'Bad', arr: 'lots' } },
      ],
      segment,
    );
    expect(plan.groups.map((g) => [g.customer.externalId, g.customer.name, g.customer.domain, g.customer.arr, g.userId])).toEqual([
      ['acct', 'Acme', 'acme.io', '1200.00', 'u'],
      ['acct2', null, null, null, null],
    ]);
    expect(plan.rejected.map((r) => r.reason)).toEqual(['group without groupId', expect.stringMatching(/^traits: arr "lots" is not a number/)]);
  });

  it('never throws on arbitrary messages, and accounts for every message', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.jsonValue(),
            fc.record({
              type: fc.constantFrom('track', 'identify', 'group', 'page'),
              event: fc.string(),
              userId: fc.string(),
              groupId: fc.string(),
              timestamp: fc.string(),
              traits: fc.jsonValue(),
            }),
          ),
          { maxLength: 15 },
        ),
        (messages) => {
          const plan = planSegment(messages, segment);
          expect(plan.groups.length + plan.identifies.length + plan.tracks.length + plan.rejected.length).toBe(messages.length);
        },
      ),
    );
  });

  it('reads dotted paths', () => {
    expect(valueAt({ a: { b: { c: 1 } } }, 'a.b.c')).toBe(1);
    expect(valueAt({ a: 1 }, 'a.b')).toBeUndefined();
  });
});

describe('Stripe signature', () => {
  const secret = 'whsec_unit';
  const body = Buffer.from('{"id":"evt_1"}');
  const t = 1_800_000_000;
  const header = `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;

  it('accepts a good signature within the tolerance', () => {
    expect(verifyStripeSignature(header, body, secret, t + 299)).toEqual({ ok: true });
    expect(stripeSignatureHeader(body, secret, t)).toBe(header);
  });

  it('rejects a stale or far-future timestamp, a wrong secret, a changed body, a malformed header', () => {
    expect(verifyStripeSignature(header, body, secret, t + 301)).toMatchObject({ ok: false, reason: expect.stringMatching(/tolerance/) });
    expect(verifyStripeSignature(header, body, secret, t - 301)).toMatchObject({ ok: false });
    expect(verifyStripeSignature(header, body, 'whsec_other', t)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    expect(verifyStripeSignature(header, Buffer.from('{"id":"evt_2"}'), secret, t)).toMatchObject({ ok: false });
    expect(verifyStripeSignature(`t=${t}`, body, secret, t)).toMatchObject({ ok: false, reason: expect.stringMatching(/no v1/) });
    expect(verifyStripeSignature('v1=abc', body, secret, t)).toMatchObject({ ok: false, reason: expect.stringMatching(/no timestamp/) });
    expect(verifyStripeSignature(undefined, body, secret, t)).toMatchObject({ ok: false });
    expect(verifyStripeSignature(`t=${t},v1=zz`, body, secret, t)).toMatchObject({ ok: false });
  });
});

describe('Stripe events', () => {
  it('converts smallest units by currency', () => {
    expect(majorUnits(129_900, 'usd')).toBe('1299.00');
    expect(majorUnits(5000, 'JPY')).toBe('5000');
    expect(majorUnits(1500, 'kwd')).toBe('1.500');
  });

  it('annualises subscription items by interval and count; unpriced items are left out', () => {
    const sub = (items: unknown[]) => subscriptionArr({ currency: 'eur', items: { data: items } });
    expect(sub([{ quantity: 2, price: { unit_amount: 1000, recurring: { interval: 'month', interval_count: 1 } } }])).toEqual({
      arr: '240.00',
      currency: 'EUR',
    });
    expect(sub([{ price: { unit_amount: 120_000, recurring: { interval: 'year' } } }]).arr).toBe('1200.00');
    expect(sub([{ price: { unit_amount: 100, recurring: { interval: 'week', interval_count: 2 } } }]).arr).toBe('26.00');
    expect(sub([{ plan: { amount: 500, interval: 'month' } }]).arr).toBe('60.00'); // legacy plan objects
    expect(sub([{ price: { unit_amount: null, recurring: { interval: 'month' } } }]).arr).toBeNull();
    expect(sub([]).arr).toBeNull();
  });

  it('plans each handled type and ignores the rest', () => {
    const ignore = segment.ignoreEmailDomains;
    const base = { id: 'evt_9', created: 1_800_000_000 };
    expect(planStripeEvent({ ...base, type: 'customer.created', data: { object: {} } }, ignore)).toEqual({
      kind: 'ignored',
      eventId: 'evt_9',
      type: 'customer.created',
    });
    expect(planStripeEvent({ type: 'invoice.paid' }, ignore)).toMatchObject({ kind: 'invalid' });
    expect(planStripeEvent({ ...base, type: 'invoice.paid' }, ignore)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/data.object/) });
    const paid = planStripeEvent(
      { ...base, type: 'invoice.paid', data: { object: { id: 'in_1', customer: 'cus_1', customer_email: 'a@acme.com', amount_paid: 999, currency: 'usd' } } },
      ignore,
    );
    expect(paid).toMatchObject({
      kind: 'apply',
      stripeCustomerId: 'cus_1',
      emailDomain: 'acme.com',
      effect: {
        kind: 'signal',
        signal: { kind: 'order', value: '9.99', externalId: 'in_1', occurredAt: new Date(1_800_000_000_000).toISOString() },
        currency: 'USD',
      },
    });
    const deleted = planStripeEvent(
      { ...base, type: 'customer.subscription.deleted', data: { object: { customer: { id: 'cus_2' }, canceled_at: 1_799_000_000 } } },
      ignore,
    );
    expect(deleted).toMatchObject({ stripeCustomerId: 'cus_2', effect: { kind: 'churned', at: new Date(1_799_000_000_000).toISOString() } });
    const updated = planStripeEvent(
      {
        ...base,
        type: 'customer.subscription.updated',
        data: {
          object: {
            customer: 'cus_3',
            items: { data: [{ current_period_end: 1_801_000_000, price: { unit_amount: 100, currency: 'usd', recurring: { interval: 'month' } } }] },
          },
        },
      },
      ignore,
    );
    expect(updated).toMatchObject({
      effect: { kind: 'subscription', arr: '12.00', currency: 'USD', renewalDate: new Date(1_801_000_000_000).toISOString().slice(0, 10), startedAt: null },
    });
    const created = planStripeEvent(
      { ...base, type: 'customer.subscription.created', data: { object: { customer: 'cus_4', start_date: 1_700_000_000 } } },
      ignore,
    );
    expect(created).toMatchObject({ effect: { kind: 'subscription', arr: null, renewalDate: null, startedAt: new Date(1_700_000_000_000).toISOString() } });
  });
});

describe('overload classification', () => {
  it('treats pool timeouts, statement timeouts, deadlocks and lost connections as retryable', () => {
    expect(isOverload(new Error('timeout exceeded when trying to connect'))).toBe(true);
    for (const code of ['57014', '40P01', '53300', '08006', 'ECONNREFUSED']) expect(isOverload(Object.assign(new Error('x'), { code }))).toBe(true);
    expect(isOverload(Object.assign(new Error('x'), { code: '23505' }))).toBe(false);
    expect(isOverload(new Error('boom'))).toBe(false);
  });
});

describe('config', () => {
  it('has ingest defaults and validates overrides', () => {
    const c = parseFileConfig({}).ingest;
    expect(c).toMatchObject({ maxInFlight: 8, maxItems: 10_000, retryAfterSeconds: 1 });
    expect(c.segment.events['Order Completed']).toEqual({ kind: 'order', value: 'properties.revenue' });
    expect(() => parseFileConfig({ ingest: { maxInFlight: 0 } })).toThrow(/ingest.maxInFlight/);
    expect(() => parseFileConfig({ ingest: { segment: { events: { X: { kind: 'refund' } } } } })).toThrow(/ingest.segment.events.X.kind/);
  });
});
