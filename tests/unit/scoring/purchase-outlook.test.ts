import { beforeAll, describe, expect, it } from 'vitest';
import { auc } from '../../../src/scoring/backtest.js';
import { bgnbdExpectedCount, bgnbdExpectedRepeat, bgnbdPAlive, fitBgNbd, type BgNbdFit } from '../../../src/scoring/bgnbd.js';
import { describeMeasure } from '../../../src/scoring/drivers.js';
import { purchaseOutlook } from '../../../src/scoring/purchase-outlook.js';
import { countPurchaseDaysBetween, summarizePurchases } from '../../../src/scoring/purchases.js';
import { scoreHealth, type PurchaseOutlookDetail } from '../../../src/scoring/scorecard.js';
import { CALIBRATION_END, HOLDOUT_END, loadCdnowOrders } from './cdnow.js';

const PUBLISHED = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

describe('purchase outlook on CDNOW: who buys again in the 39-week holdout', () => {
  interface Customer {
    x: number;
    tx: number;
    T: number;
    lapsed: boolean;
  }
  let cohort: Customer[];
  let fit: BgNbdFit;
  const aucOf = (riskOf: (c: Customer) => number): number => auc(cohort.map((c) => ({ risk: riskOf(c), churned: c.lapsed })))!;

  beforeAll(() => {
    cohort = [...loadCdnowOrders().entries()]
      .sort((p, q) => p[0] - q[0])
      .map(([, orders]) => {
        const s = summarizePurchases(orders, CALIBRATION_END)!;
        return { x: s.x, tx: s.tx, T: s.T, lapsed: countPurchaseDaysBetween(orders, CALIBRATION_END, HOLDOUT_END) === 0 };
      });
    fit = fitBgNbd(cohort);
  });

  it('ranks lapse at least as well as the 39-week conditional expectation, and far better than P(alive)', () => {
    expect(cohort).toHaveLength(2357);
    expect(cohort.filter((c) => c.lapsed)).toHaveLength(1673);
    const outlook = aucOf((c) => 100 - purchaseOutlook(fit, c.x, c.tx, c.T).score);
    const expected39 = aucOf((c) => -bgnbdExpectedRepeat(fit, 39, c.x, c.tx, c.T));
    const pAlive = aucOf((c) => 1 - bgnbdPAlive(fit, c.x, c.tx, c.T));
    // Measured: 0.7727 (90-day outlook), 0.7725 (E[Y(39)]), 0.3158 (P(alive), worse than chance).
    expect(outlook).toBeGreaterThanOrEqual(expected39);
    expect(outlook).toBeCloseTo(0.7727, 4);
    expect(expected39).toBeCloseTo(0.7725, 4);
    expect(pAlive).toBeCloseTo(0.3158, 4);
    expect(outlook - pAlive).toBeGreaterThan(0.4);
    // Over the holdout's own horizon it orders customers exactly as E[Y(39)] does.
    const outlook39 = aucOf((c) => 100 - purchaseOutlook(fit, c.x, c.tx, c.T, { horizonDays: 273 }).score);
    expect(outlook39).toBeCloseTo(expected39, 12);
  });

  it('tells lapsed one-time buyers from recent ones, which P(alive) cannot', () => {
    const oneTimers = cohort.filter((c) => c.x === 0);
    expect(new Set(oneTimers.map((c) => bgnbdPAlive(fit, c.x, c.tx, c.T)))).toEqual(new Set([1]));
    const scores = new Set(oneTimers.map((c) => purchaseOutlook(fit, c.x, c.tx, c.T).score));
    expect(scores.size).toBeGreaterThan(50);
  });
});

describe('purchaseOutlook', () => {
  const h = 90 / 7;

  it('is E[Y(90 days)] against a new customer’s E[X(90 days)], mapped to 0–100', () => {
    const o = purchaseOutlook(PUBLISHED, 2, 30.43, 38.86);
    const E = bgnbdExpectedRepeat(PUBLISHED, h, 2, 30.43, 38.86);
    const Enew = bgnbdExpectedCount(PUBLISHED, h);
    expect(o.expectedOrders).toBeCloseTo(E, 14);
    expect(o.newCustomerOrders).toBeCloseTo(Enew, 14);
    expect(o.score).toBeCloseTo((100 * E) / (E + Enew), 12);
    expect(o.pAlive).toBeCloseTo(bgnbdPAlive(PUBLISHED, 2, 30.43, 38.86), 14);
    expect(o.usualBasis).toBe('own-pace');
    expect(o.usualOrders).toBeCloseTo((h * (0.243 + 2)) / (4.414 + 38.86), 12);
    expect(o.daysSinceLastOrder).toBeCloseTo((38.86 - 30.43) * 7, 10);
    expect(o.horizonDays).toBe(90);
  });

  it('scores a brand-new customer exactly neutral, and a one-time buyer lower the longer they stay quiet', () => {
    expect(purchaseOutlook(PUBLISHED, 0, 0, 0).score).toBeCloseTo(50, 12);
    const quiet = [1, 10, 30, 60].map((T) => purchaseOutlook(PUBLISHED, 0, 0, T).score);
    for (let i = 1; i < quiet.length; i++) expect(quiet[i]).toBeLessThan(quiet[i - 1]!);
    expect(purchaseOutlook(PUBLISHED, 0, 0, 30)).toMatchObject({ usualBasis: 'new-customer', pAlive: 1, daysSinceLastOrder: 210 });
  });

  it('scores a regular buyer above neutral, and the same buyer lower once they go quiet', () => {
    const active = purchaseOutlook(PUBLISHED, 8, 38, 39);
    const lapsed = purchaseOutlook(PUBLISHED, 8, 12, 39);
    expect(active.score).toBeGreaterThan(75);
    expect(lapsed.score).toBeLessThan(active.score - 30);
    expect(lapsed.expectedOrders).toBeLessThan(0.2 * lapsed.usualOrders);
  });

  it('takes the horizon and time unit from the caller', () => {
    // The same book fitted in days has α × 7; the outlook is the same.
    const inDays = purchaseOutlook({ ...PUBLISHED, alpha: PUBLISHED.alpha * 7 }, 2, 30.43 * 7, 38.86 * 7, { unitDays: 1 });
    const inWeeks = purchaseOutlook(PUBLISHED, 2, 30.43, 38.86);
    expect(inDays.score).toBeCloseTo(inWeeks.score, 10);
    expect(inDays.usualOrders).toBeCloseTo(inWeeks.usualOrders, 10);
    expect(inDays.daysSinceLastOrder).toBeCloseTo(inWeeks.daysSinceLastOrder, 10);
    const longer = purchaseOutlook(PUBLISHED, 2, 30.43, 38.86, { horizonDays: 180 });
    expect(longer.expectedOrders).toBeGreaterThan(purchaseOutlook(PUBLISHED, 2, 30.43, 38.86).expectedOrders);
    expect(() => purchaseOutlook(PUBLISHED, 2, 30, 38, { horizonDays: 0 })).toThrowError(/horizonDays/);
  });
});

describe('the purchase measure in the scorecard', () => {
  it('uses the outlook’s score and says it in a rep’s words, with the numbers', () => {
    const outlook = purchaseOutlook(PUBLISHED, 6, 20, 39);
    const score = scoreHealth({ purchaseOutlook: outlook, pAlive: 0.99 });
    const m = score.measures.find((x) => x.key === 'purchase')!;
    expect(m.score).toBeCloseTo(outlook.score, 12);
    expect(score.health).toBe(Math.round(outlook.score));
    const e = outlook.expectedOrders.toFixed(1);
    const u = outlook.usualOrders.toFixed(1);
    expect(m.text).toBe(`expected ${e} orders in the next 90 days vs ${u} at their usual pace (last order 133 days ago)`);
  });

  it('phrases the sentences by case', () => {
    const text = (o: Partial<PurchaseOutlookDetail>): string =>
      describeMeasure({
        key: 'purchase',
        pAlive: 1,
        outlook: { horizonDays: 90, expectedOrders: 0.3, usualOrders: 1.8, usualBasis: 'own-pace', repeatOrders: 4, daysSinceLastOrder: 75, ...o },
      });
    expect(text({})).toBe('expected 0.3 orders in the next 90 days vs 1.8 at their usual pace (last order 75 days ago)');
    expect(text({ expectedOrders: 0.04, usualOrders: 12.3, daysSinceLastOrder: 0 })).toBe(
      'expected 0.04 orders in the next 90 days vs 12 at their usual pace (last order today)',
    );
    expect(text({ usualBasis: 'new-customer', repeatOrders: 0, expectedOrders: 0.12, usualOrders: 0.41, daysSinceLastOrder: 1 })).toBe(
      'one order so far, 1 day ago; expected 0.1 orders in the next 90 days vs 0.4 for a new customer',
    );
  });

  it('falls back to P(alive) without an outlook, and leaves an outlook that is not a number out', () => {
    const legacy = scoreHealth({ pAlive: 0.42 });
    expect(legacy.measures[0]).toMatchObject({ key: 'purchase', score: 42, text: 'P(alive) 0.42 — orders are slowing' });
    const broken = { ...purchaseOutlook(PUBLISHED, 1, 1, 2), score: Number.NaN };
    expect(scoreHealth({ purchaseOutlook: broken }).missing).toContain('purchase');
  });
});
