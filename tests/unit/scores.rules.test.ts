import { describe, expect, it } from 'vitest';
import {
  MAX_DROPOUT_SHAPE,
  newPatternMemo,
  pAliveInformative,
  scoreCustomer,
  tameBgNbd,
  type CustomerFacts,
  type RunScoringInputs,
} from '../../src/scores/score.rules.js';
import {
  bgnbdExpectedRepeat,
  bgnbdPAlive,
  customerLifetimeValue,
  purchaseOutlook,
  rfmSegment,
  withScoringDefaults,
  WEEKS_PER_YEAR,
} from '../../src/scoring/index.js';

const bgnbd = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const gammagamma = { p: 6.25, q: 3.74, gamma: 15.44 };

const inputs: RunScoringInputs = {
  config: withScoringDefaults(),
  bgnbd,
  gammagamma,
  feeds: { complaints: true, payments: true, interactions: true },
  excluded: [],
  staleTexts: [],
  clv: { horizonMonths: 12, annualDiscountRate: 0.1 },
};

function facts(over: Partial<CustomerFacts> = {}): CustomerFacts {
  return {
    customerId: '1',
    x: 6,
    txDays: 200,
    TDays: 230,
    meanRepeat: 120,
    hasUsage: true,
    usageLast30: 100,
    usagePrev60: 200,
    complaintAgesDays: [],
    paymentFailures90d: 0,
    latestNps: 9,
    latestNpsAgeDays: 20,
    feedbackCount90d: 0,
    sentimentMean90d: null,
    sentimentNegative90d: 0,
    sentimentPositive90d: 0,
    daysSinceLastTouch: 10,
    newestDataAt: new Date('2026-01-01T00:00:00Z'),
    rfm: { r: 5, f: 4, m: 3 },
    tier: 'B',
    ...over,
  };
}

describe('scoreCustomer', () => {
  it('scores nothing when nothing is known (the card says "not scored yet")', () => {
    expect(scoreCustomer(facts({ newestDataAt: null }), inputs)).toBeNull();
  });

  it('uses the purchase model for P(alive), expected orders and CLV, per pattern', () => {
    const s = scoreCustomer(facts(), inputs)!;
    const tx = 200 / 7;
    const T = 230 / 7;
    expect(s.pAlive).toBeCloseTo(bgnbdPAlive(bgnbd, 6, tx, T), 6);
    expect(s.expectedOrders90d).toBeCloseTo(bgnbdExpectedRepeat(bgnbd, 90 / 7, 6, tx, T), 4);
    const clv = customerLifetimeValue({ bgnbd, gg: gammagamma, x: 6, tx, T, mean: 120, horizonWeeks: WEEKS_PER_YEAR, annualDiscountRate: 0.1 });
    expect(s.clv!).toBeCloseTo(clv.clv, 2);
    // A second customer with the same pattern but another spend reuses the series, same answer as computed afresh.
    const memo = newPatternMemo();
    scoreCustomer(facts(), inputs, memo);
    const other = scoreCustomer(facts({ customerId: '2', meanRepeat: 300 }), inputs, memo)!;
    const direct = customerLifetimeValue({ bgnbd, gg: gammagamma, x: 6, tx, T, mean: 300, horizonWeeks: WEEKS_PER_YEAR, annualDiscountRate: 0.1 });
    expect(memo.size).toBe(1);
    expect(other.clv!).toBeCloseTo(direct.clv, 2);
  });

  it('scores a one-order customer by the orders expected of them, sinking as they stay quiet (P(alive) is 1 for them all)', () => {
    const fresh = scoreCustomer(facts({ x: 0, txDays: 0, TDays: 0, meanRepeat: 0 }), inputs)!;
    const quiet = scoreCustomer(facts({ x: 0, txDays: 0, TDays: 300, meanRepeat: 0 }), inputs)!;
    expect(quiet.pAlive).toBe(1);
    const purchase = (s: typeof fresh) => s.measures.find((m) => m.key === 'purchase')!;
    // A new customer is the reference: 50, the measure's neutral.
    expect(purchase(fresh).score).toBeCloseTo(50, 1);
    const outlook = purchaseOutlook(bgnbd, 0, 0, 300 / 7, { horizonDays: 90 });
    expect(purchase(quiet).score).toBeCloseTo(outlook.score, 1);
    expect(purchase(quiet).score).toBeLessThan(30);
    expect(quiet.expectedOrders90d).toBeCloseTo(outlook.expectedOrders, 4);
    const sentence = quiet.drivers.find((d) => d.key === 'purchase')?.text ?? '';
    expect(sentence).toMatch(/^one order so far, 300 days ago; expected 0\.\d+ orders in the next 90 days vs 0\.\d+ for a new customer$/);
  });

  it('ranks a lapsed repeat buyer below a regular one', () => {
    const regular = scoreCustomer(facts({ x: 6, txDays: 225, TDays: 230 }), inputs)!;
    const lapsed = scoreCustomer(facts({ x: 6, txDays: 60, TDays: 230 }), inputs)!;
    const purchase = (s: typeof regular) => s.measures.find((m) => m.key === 'purchase')!.score;
    expect(purchase(regular)).toBeGreaterThan(50);
    expect(purchase(lapsed)).toBeLessThan(purchase(regular));
  });

  it('treats a feed the book does not have as missing, not as good news', () => {
    const none = { ...inputs, feeds: { complaints: false, payments: false, interactions: false } };
    const keys = scoreCustomer(facts({ daysSinceLastTouch: null }), none)!.measures.map((m) => m.key);
    expect(keys).not.toContain('complaints');
    expect(keys).not.toContain('payments');
    expect(keys).not.toContain('cadence');
    // With the feeds present, silence is measured: no complaints is good, never touched is bad.
    const present = scoreCustomer(facts({ daysSinceLastTouch: null }), inputs)!;
    expect(present.measures.find((m) => m.key === 'complaints')!.score).toBe(100);
    expect(present.measures.find((m) => m.key === 'cadence')!.score).toBe(0);
  });

  it('leaves usage out for a customer that never had usage data', () => {
    const s = scoreCustomer(facts({ hasUsage: false, usageLast30: 0, usagePrev60: 0 }), inputs)!;
    expect(s.measures.map((m) => m.key)).not.toContain('engagement');
  });

  it('leaves stale feeds out and says so on the score', () => {
    const stale = { ...inputs, excluded: ['engagement' as const], staleTexts: ['no usage data for 9 days (used to arrive daily)'] };
    const s = scoreCustomer(facts(), stale)!;
    expect(s.measures.map((m) => m.key)).not.toContain('engagement');
    expect(s.stale).toEqual(['no usage data for 9 days (used to arrive daily)']);
  });

  it('names the RFM segment of the cell and keeps the tier', () => {
    const s = scoreCustomer(facts({ rfm: { r: 1, f: 5, m: 5 }, tier: 'A' }), inputs)!;
    expect([s.rfmR, s.rfmF, s.rfmM]).toEqual([1, 5, 5]);
    expect(s.rfmSegment).toBe(rfmSegment(1, 5));
    expect(s.tier).toBe('A');
    expect(scoreCustomer(facts({ rfm: null, tier: null }), inputs)!.rfmSegment).toBeNull();
  });

  it('stores drivers as sentences with their direction and impact', () => {
    const s = scoreCustomer(facts({ complaintAgesDays: [2, 5, 11], daysSinceLastTouch: 140 }), inputs)!;
    expect(s.drivers.length).toBeGreaterThan(0);
    expect(s.drivers[0]).toEqual({ key: expect.any(String), direction: 'down', impact: expect.any(Number), text: expect.any(String) });
    expect(s.drivers.map((d) => d.text).join(' | ')).toMatch(/3 complaints in 30 days/);
    expect(s.band).toMatch(/green|yellow|red/);
  });

  it('gives no CLV when the purchase model is missing, and still scores the rest', () => {
    const s = scoreCustomer(facts(), { ...inputs, bgnbd: null, gammagamma: null })!;
    expect(s.pAlive).toBeNull();
    expect(s.clv).toBeNull();
    expect(s.health).toBeGreaterThan(0);
  });
});

describe('tameBgNbd', () => {
  it('leaves ordinary fits alone', () => {
    expect(tameBgNbd(bgnbd)).toBe(bgnbd);
    expect(tameBgNbd(null)).toBeNull();
  });

  it('scales a degenerate dropout distribution down, keeping its mean, so expected orders stay finite and P(alive) barely moves', () => {
    const degenerate = { a: 2157337485.6, b: 12132661843.7, r: 7.85, alpha: 66.38 };
    const tamed = tameBgNbd(degenerate)!;
    expect(tamed.a).toBe(MAX_DROPOUT_SHAPE);
    expect(tamed.a / (tamed.a + tamed.b)).toBeCloseTo(degenerate.a / (degenerate.a + degenerate.b), 12);
    expect(Number.isFinite(bgnbdExpectedRepeat(degenerate, 52, 10, 30, 40))).toBe(false);
    const e = bgnbdExpectedRepeat(tamed, 52, 10, 30, 40);
    expect(e).toBeGreaterThan(0);
    expect(Number.isFinite(e)).toBe(true);
    expect(Math.abs(bgnbdPAlive(tamed, 10, 30, 40) - bgnbdPAlive(degenerate, 10, 30, 40))).toBeLessThan(1e-3);
  });
});

describe('a purchase model that sees no dropout', () => {
  const noDropout = { r: 8.4, alpha: 20.5, a: 2.2e-8, b: 7685 };

  it('is recognised as uninformative', () => {
    expect(pAliveInformative(noDropout)).toBe(false);
    expect(pAliveInformative(bgnbd)).toBe(true);
    expect(pAliveInformative(null)).toBe(false);
  });

  it('leaves P(alive) out instead of calling a lapsed customer "still ordering"', () => {
    // Ten monthly orders, the last one 30 weeks ago.
    const s = scoreCustomer(facts({ x: 10, txDays: 300, TDays: 510 }), { ...inputs, bgnbd: noDropout })!;
    expect(bgnbdPAlive(noDropout, 10, 300 / 7, 510 / 7)).toBeGreaterThan(0.99);
    expect(s.pAlive).toBeNull();
    expect(s.measures.map((m) => m.key)).not.toContain('purchase');
    expect(s.expectedOrders90d).not.toBeNull();
  });
});
