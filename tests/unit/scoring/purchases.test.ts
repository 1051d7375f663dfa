import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countPurchaseDaysBetween, dayNumber, dayToIsoDate, summarizePurchases, toPurchaseDays, type Order } from '../../../src/scoring/purchases.js';
import { CALIBRATION_END, loadCdnowOrders, loadCdnowSummaryWithSpend } from './cdnow.js';

describe('purchase summary conventions', () => {
  const orders: Order[] = [
    { date: '2024-01-01', amount: 100 },
    { date: '2024-01-01', amount: 50 }, // same day: one purchase of 150
    { date: '2024-01-15', amount: 30 },
    { date: '2024-01-15', amount: 10 },
    { date: '2024-02-12', amount: 60 },
    { date: '2024-03-30', amount: 999 }, // after the as-of day
  ];

  it('merges same-day orders, does not count the first purchase, measures in weeks', () => {
    const s = summarizePurchases(orders, '2024-03-01')!;
    expect(s.x).toBe(2);
    expect(s.tx).toBeCloseTo(42 / 7, 12); // Jan 1 → Feb 12
    expect(s.T).toBeCloseTo(60 / 7, 12); // Jan 1 → Mar 1 (2024 is a leap year)
    expect(s.mean).toBe(50); // (40 + 60) / 2, the first day's 150 excluded
    expect(s.purchaseDays).toBe(3);
    expect(s.totalAmount).toBe(250);
    expect(s.daysSinceLastPurchase).toBe(18);
    expect(dayToIsoDate(s.firstPurchaseDay)).toBe('2024-01-01');
  });

  it('a single purchase day is x = 0, t_x = 0, mean 0', () => {
    const s = summarizePurchases(orders.slice(0, 2), '2024-01-08')!;
    expect(s).toMatchObject({ x: 0, tx: 0, mean: 0, purchaseDays: 1 });
    expect(s.T).toBe(1);
  });

  it('counts an order on the as-of day, and returns null before the first order', () => {
    expect(summarizePurchases(orders, '2024-01-15')!.x).toBe(1);
    expect(summarizePurchases(orders, '2023-12-31')).toBeNull();
    expect(summarizePurchases([], '2024-01-01')).toBeNull();
  });

  it('supports other time units and a local day boundary', () => {
    expect(summarizePurchases(orders, '2024-03-01', { unitDays: 1 })!.T).toBe(60);
    const late = [
      { date: new Date('2024-01-01T23:30:00Z'), amount: 1 },
      { date: new Date('2024-01-02T00:30:00Z'), amount: 1 },
    ];
    expect(toPurchaseDays(late)).toHaveLength(2);
    expect(toPurchaseDays(late, { utcOffsetMinutes: 60 })).toHaveLength(1); // both on Jan 2 at UTC+1
  });

  it('counts holdout purchase days after one day up to and including another', () => {
    expect(countPurchaseDaysBetween(orders, '2024-01-01', '2024-02-12')).toBe(2);
    expect(countPurchaseDaysBetween(orders, '2024-01-15', '2024-12-31')).toBe(2);
  });

  it('rejects invalid dates and amounts with a clear error', () => {
    expect(() => dayNumber('not a date')).toThrowError(/not a valid date/);
    expect(() => toPurchaseDays([{ date: '2024-01-01', amount: Number.NaN }])).toThrowError(/finite/);
  });

  it('property: x + 1 purchase days, 0 ≤ t_x ≤ T, whatever the order of the input', () => {
    const day = fc.integer({ min: 0, max: 400 });
    fc.assert(
      fc.property(fc.array(fc.tuple(day, fc.integer({ min: 1, max: 500 })), { minLength: 1, maxLength: 40 }), (list) => {
        const asOf = dayToIsoDate(19_000 + 400);
        const input = list.map(([d, amount]) => ({ date: dayToIsoDate(19_000 + d), amount }));
        const s = summarizePurchases(input, asOf)!;
        const reversed = summarizePurchases([...input].reverse(), asOf)!;
        expect(s).toEqual(reversed);
        expect(s.x + 1).toBe(new Set(list.map(([d]) => d)).size);
        expect(s.tx).toBeGreaterThanOrEqual(0);
        expect(s.tx).toBeLessThanOrEqual(s.T);
        expect(s.totalAmount).toBe(list.reduce((acc, [, a]) => acc + a, 0));
      }),
    );
  });
});

describe('CDNOW rebuilt from the transaction log', () => {
  it('matches the published calibration summary (same x; t_x and T within 0.0043 weeks; zbar to the cent)', () => {
    const orders = loadCdnowOrders();
    const summary = loadCdnowSummaryWithSpend();
    expect(orders.size).toBe(2357);
    let rows = 0;
    let merged = 0;
    for (const row of summary) {
      const list = orders.get(row.id)!;
      rows += list.length;
      merged += toPurchaseDays(list).length;
      const s = summarizePurchases(list, CALIBRATION_END)!;
      expect(s.x).toBe(row.x);
      expect(Math.abs(s.tx - row.tx)).toBeLessThanOrEqual(0.0043);
      expect(Math.abs(s.T - row.T)).toBeLessThanOrEqual(0.0043);
      expect(Math.abs(s.mean - row.mean)).toBeLessThanOrEqual(0.005 + 1e-9);
    }
    expect(rows).toBe(6919);
    expect(rows - merged).toBe(223); // same-day duplicate rows
  });
});
