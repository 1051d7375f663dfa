import { describe, expect, it } from 'vitest';
import { checkCustomer, checkEvent, MAX_LENGTH, parseTimestamp, quoted } from '../../src/ingest/rows.rules.js';

describe('checkCustomer', () => {
  it('accepts a row with only external_id and name; empty cells are unknown', () => {
    expect(checkCustomer({ external_id: 'C1', name: 'Acme', domain: '', arr: '', renewal_date: '' })).toEqual({
      ok: true,
      value: {
        externalId: 'C1',
        name: 'Acme',
        domain: null,
        plan: null,
        arr: null,
        currency: null,
        renewalDate: null,
        ownerSlackId: null,
        team: null,
        startedAt: null,
        churnedAt: null,
      },
    });
  });
  it('normalises domain, currency and amounts', () => {
    const r = checkCustomer({
      external_id: 'C1',
      name: 'Acme',
      domain: 'https://www.Acme.com/about',
      arr: '12,000.5',
      currency: 'usd',
      renewal_date: '2027-03-01T10:00:00Z',
    });
    expect(r).toMatchObject({ ok: true, value: { domain: 'acme.com', arr: '12000.50', currency: 'USD', renewalDate: '2027-03-01' } });
  });
  it.each([
    [{ external_id: '', name: 'x' }, 'external_id is missing'],
    [{ external_id: 'C1', name: ' ' }, 'name is missing'],
    [{ external_id: 'C1', name: 'x', arr: '12k' }, 'arr "12k" is not a number'],
    [{ external_id: 'C1', name: 'x', arr: '-5' }, 'arr cannot be negative'],
    [{ external_id: 'C1', name: 'x', renewal_date: '2027-02-30' }, 'renewal_date "2027-02-30" is not an ISO date'],
    [{ external_id: 'C1', name: 'x', renewal_date: '03/01/2027' }, 'is not an ISO date'],
    [{ external_id: 'C1', name: 'x', currency: 'dollars' }, 'not a 3-letter ISO code'],
    [{ external_id: 'C1', name: 'x', owner_slack_id: 'alice' }, 'is not a Slack user id'],
  ])('%j → %s', (row, reason) => {
    const r = checkCustomer(row);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });
});

describe('column caps', () => {
  it('rejects a cell longer than its column takes, naming the column', () => {
    const r = checkCustomer({ external_id: 'C1', name: 'Acme', plan: 'p'.repeat(1_000_000) });
    expect(r).toEqual({ ok: false, reason: `plan is longer than ${MAX_LENGTH.plan} characters` });
    expect(checkCustomer({ external_id: 'C1', name: 'Acme', team: 't'.repeat(101) })).toMatchObject({
      ok: false,
      reason: 'team is longer than 100 characters',
    });
    expect(checkEvent({ customer_external_id: 'C1', kind: 'usage', occurred_at: '2026-01-02', external_id: 'e'.repeat(201) })).toMatchObject({
      ok: false,
      reason: 'external_id is longer than 200 characters',
    });
  });

  it('quotes a bad value by a short prefix only', () => {
    const r = checkCustomer({ external_id: 'C1', name: 'Acme', domain: `not a domain ${'x'.repeat(200)}` });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(`domain "not a domain ${'x'.repeat(27)}…" is not a domain name (like acme.com)`);
    }
    expect(quoted('short')).toBe('"short"');
  });
});

describe('checkEvent', () => {
  it('accepts the required columns and a decimal value', () => {
    expect(checkEvent({ customer_external_id: 'C1', kind: 'Order', occurred_at: '2026-01-02', value: '99.90' })).toEqual({
      ok: true,
      value: { customerExternalId: 'C1', kind: 'order', occurredAt: '2026-01-02T00:00:00.000Z', value: '99.9', externalId: null },
    });
  });
  it.each([
    [{ customer_external_id: 'C1', kind: 'refund', occurred_at: '2026-01-02' }, 'kind "refund" is unknown'],
    [{ customer_external_id: 'C1', kind: 'usage', occurred_at: 'yesterday' }, 'occurred_at "yesterday" is not an ISO date'],
    [{ customer_external_id: 'C1', kind: 'usage', occurred_at: '2026-01-02', value: 'ten' }, 'value "ten" is not a number'],
    [{ customer_external_id: 'C1', kind: 'nps', occurred_at: '2026-01-02', value: '11' }, 'outside 0–10'],
    [{ customer_external_id: '', kind: 'usage', occurred_at: '2026-01-02' }, 'customer_external_id is missing'],
  ])('%j → %s', (row, reason) => {
    const r = checkEvent(row);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });
});

describe('parseTimestamp', () => {
  it('reads dates, timestamps with and without zones', () => {
    expect(parseTimestamp('2026-03-01')).toBe('2026-03-01T00:00:00.000Z');
    expect(parseTimestamp('2026-03-01T10:20:30+02:00')).toBe('2026-03-01T08:20:30.000Z');
    expect(parseTimestamp('2026-03-01 10:20')).toBe('2026-03-01T10:20:00.000Z');
    expect(parseTimestamp('2026-13-01')).toBeNull();
    expect(parseTimestamp('not a date')).toBeNull();
  });
});
