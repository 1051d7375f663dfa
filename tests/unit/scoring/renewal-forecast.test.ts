import { describe, expect, it } from 'vitest';
import {
  forecastRenewals,
  pooledChurnProbability,
  poissonBinomialInterval,
  poissonBinomialPmf,
  type UpcomingRenewal,
} from '../../../src/scoring/renewal-forecast.js';
import { retentionRate } from '../../../src/scoring/retention.js';
import { logit, sigmoid } from '../../../src/scoring/stats.js';

const HIGH_END = { alpha: 0.668, beta: 3.806 };
const REGULAR = { alpha: 0.704, beta: 1.182 };
const params = { enterprise: HIGH_END, smb: REGULAR };

describe('forecastRenewals', () => {
  it('expects r(t) of each renewal’s segment and tenure, and ARR at risk accordingly', () => {
    const renewals: UpcomingRenewal[] = [
      { id: 'a', arr: 100_000, tenurePeriods: 8, segment: 'enterprise' },
      { id: 'b', arr: 10_000, tenurePeriods: 1, segment: 'smb' },
      { id: 'c', arr: 20_000, tenurePeriods: 3, segment: 'smb' },
    ];
    const f = forecastRenewals(renewals, params);
    const r = [retentionRate(HIGH_END, 8), retentionRate(REGULAR, 1), retentionRate(REGULAR, 3)];
    // By hand: r_sBG(t) = (β + t − 1)/(α + β + t − 1).
    expect(r[0]).toBeCloseTo((3.806 + 7) / (0.668 + 3.806 + 7), 12);
    expect(r[1]).toBeCloseTo(1.182 / (0.704 + 1.182), 12);
    expect(f.renewals).toBe(3);
    expect(f.expectedRenewals).toBeCloseTo(r[0]! + r[1]! + r[2]!, 12);
    expect(f.expectedRenewalRate).toBeCloseTo((r[0]! + r[1]! + r[2]!) / 3, 12);
    expect(f.arr).toBe(130_000);
    const atRisk = 100_000 * (1 - r[0]!) + 10_000 * (1 - r[1]!) + 20_000 * (1 - r[2]!);
    expect(f.expectedArrAtRisk).toBeCloseTo(atRisk, 6);
    expect(f.expectedRenewedArr).toBeCloseTo(130_000 - atRisk, 6);
    expect(f.arrRenewalRate).toBeCloseTo((130_000 - atRisk) / 130_000, 12);
    expect(f.items.map((i) => i.source)).toEqual(['retention-model', 'retention-model', 'retention-model']);
    expect(f.bySegment.map((s) => [s.segment, s.renewals])).toEqual([
      ['enterprise', 1],
      ['smb', 2],
    ]);
    expect(f.bySegment[1]!.expectedArrAtRisk).toBeCloseTo(10_000 * (1 - r[1]!) + 20_000 * (1 - r[2]!), 6);
  });

  it('gives an exact 80% interval for the count and a seeded Monte Carlo one for ARR', () => {
    const renewals: UpcomingRenewal[] = Array.from({ length: 40 }, (_, i) => ({
      arr: i === 0 ? 500_000 : 10_000,
      tenurePeriods: 1 + (i % 6),
      segment: 'smb',
    }));
    const f = forecastRenewals(renewals, params);
    expect(f.renewalsInterval.method).toBe('exact');
    expect(f.renewalsInterval.low).toBeLessThanOrEqual(Math.floor(f.expectedRenewals));
    expect(f.renewalsInterval.high).toBeGreaterThanOrEqual(Math.ceil(f.expectedRenewals));
    // At least 80% of the probability lies inside, and dropping either end loses that.
    const pmf = poissonBinomialPmf(f.items.map((i) => i.renewProbability));
    const mass = (lo: number, hi: number): number => pmf.slice(lo, hi + 1).reduce((s, v) => s + v, 0);
    expect(mass(f.renewalsInterval.low, f.renewalsInterval.high)).toBeGreaterThanOrEqual(0.8);
    expect(mass(0, f.renewalsInterval.low - 1)).toBeLessThan(0.1);
    expect(mass(f.renewalsInterval.high + 1, 40)).toBeLessThanOrEqual(0.1);
    // ARR: reproducible, brackets the mean, and knows the whale makes it lumpy.
    const again = forecastRenewals(renewals, params);
    expect(again.arrAtRiskInterval).toEqual(f.arrAtRiskInterval);
    expect(f.arrAtRiskInterval).toMatchObject({ level: 0.8, method: 'monte-carlo', simulations: 10_000, seed: 1 });
    expect(f.arrAtRiskInterval.low).toBeLessThan(f.expectedArrAtRisk);
    expect(f.arrAtRiskInterval.high).toBeGreaterThan(f.expectedArrAtRisk);
    const other = forecastRenewals(renewals, params, { seed: 7 });
    expect(Math.abs(other.arrAtRiskInterval.high - f.arrAtRiskInterval.high)).toBeLessThanOrEqual(20_000);
  });

  it('the ARR interval of a single renewal is all or nothing', () => {
    const f = forecastRenewals([{ arr: 1000, tenurePeriods: 1, segment: 'smb' }], params);
    // Churn probability 1 − 1.182/1.886 ≈ 0.37: the 10th percentile keeps it, the 90th loses it.
    expect(f.arrAtRiskInterval.low).toBe(0);
    expect(f.arrAtRiskInterval.high).toBe(1000);
  });

  it('switches to a normal approximation for long lists, close to the exact answer', () => {
    const renewals: UpcomingRenewal[] = Array.from({ length: 3000 }, (_, i) => ({
      arr: 1000,
      tenurePeriods: 1 + (i % 10),
      segment: i % 2 ? 'smb' : 'enterprise',
    }));
    const exact = forecastRenewals(renewals, params, { simulations: 200 });
    const normal = forecastRenewals(renewals, params, { simulations: 200, exactCountLimit: 100 });
    expect(exact.renewalsInterval.method).toBe('exact');
    expect(normal.renewalsInterval.method).toBe('normal');
    expect(Math.abs(normal.renewalsInterval.low - exact.renewalsInterval.low)).toBeLessThanOrEqual(1);
    expect(Math.abs(normal.renewalsInterval.high - exact.renewalsInterval.high)).toBeLessThanOrEqual(1);
  });

  it('pools a health model’s churn probability with r(t) on the log-odds scale', () => {
    const renewal: UpcomingRenewal = { arr: 1000, tenurePeriods: 8, segment: 'enterprise', churnProbability: 0.5 };
    const model = 1 - retentionRate(HIGH_END, 8);
    const pooled = forecastRenewals([renewal], params).items[0]!;
    expect(pooled.source).toBe('pooled');
    expect(pooled.modelChurnProbability).toBeCloseTo(model, 12);
    expect(pooled.healthChurnProbability).toBe(0.5);
    expect(1 - pooled.renewProbability).toBeCloseTo(sigmoid(0.5 * logit(0.5) + 0.5 * logit(model)), 12);
    // Weight 1: the health model alone; weight 0: the retention model alone.
    expect(forecastRenewals([renewal], params, { healthWeight: 1 }).items[0]!).toMatchObject({ renewProbability: 0.5, source: 'health-model' });
    expect(forecastRenewals([renewal], params, { healthWeight: 0 }).items[0]!.renewProbability).toBeCloseTo(1 - model, 12);
    // A confident source moves the pool more than a linear average would.
    expect(pooledChurnProbability(0.02, 0.5)).toBeCloseTo(0.125, 3);
    expect(pooledChurnProbability(0.3, null)).toBe(0.3);
    expect(Number.isFinite(pooledChurnProbability(0.3, 0))).toBe(true);
  });

  it('uses the health probability alone for a segment without a fit, and skips what it cannot forecast', () => {
    const f = forecastRenewals(
      [
        { id: 'x', arr: 500, tenurePeriods: 2, segment: 'partner', churnProbability: 0.2 },
        { id: 'y', arr: 700, tenurePeriods: 2, segment: 'partner' },
        { id: 'z', arr: 900, tenurePeriods: 2, segment: 'toString' },
      ],
      params,
    );
    expect(f.items).toHaveLength(1);
    expect(f.items[0]).toMatchObject({ id: 'x', source: 'health-model', renewProbability: 0.8, modelChurnProbability: null });
    expect(f.skipped).toEqual([
      { index: 1, id: 'y', segment: 'partner', reason: 'no retention fit for segment "partner" and no health probability' },
      { index: 2, id: 'z', segment: 'toString', reason: 'no retention fit for segment "toString" and no health probability' },
    ]);
    expect(f.arr).toBe(500);
  });

  it('answers an empty list without dividing by zero', () => {
    const f = forecastRenewals([], params);
    expect(f).toMatchObject({ renewals: 0, expectedRenewals: 0, expectedRenewalRate: null, arr: 0, arrRenewalRate: null });
    expect(f.renewalsInterval).toMatchObject({ low: 0, high: 0 });
    expect(f.arrAtRiskInterval).toMatchObject({ low: 0, high: 0 });
  });

  it('rejects bad input with a message naming the renewal', () => {
    expect(() => forecastRenewals([{ id: 'q', arr: -1, tenurePeriods: 1, segment: 'smb' }], params)).toThrowError(/renewal #0 \(q\): arr/);
    expect(() => forecastRenewals([{ arr: 1, tenurePeriods: 0, segment: 'smb' }], params)).toThrowError(/1 = first renewal/);
    expect(() => forecastRenewals([{ arr: 1, tenurePeriods: 1, segment: 'smb', churnProbability: 1.2 }], params)).toThrowError(/churnProbability/);
    expect(() => forecastRenewals([], { smb: { alpha: -1, beta: 1 } })).toThrowError(/segment "smb"/);
    expect(() => forecastRenewals([], params, { level: 1 })).toThrowError(/level/);
  });
});

describe('Poisson-binomial', () => {
  it('is the binomial when all probabilities are equal', () => {
    const pmf = poissonBinomialPmf([0.3, 0.3, 0.3, 0.3]);
    const binom = [0.7 ** 4, 4 * 0.3 * 0.7 ** 3, 6 * 0.09 * 0.49, 4 * 0.027 * 0.7, 0.0081];
    binom.forEach((b, k) => expect(pmf[k]).toBeCloseTo(b, 14));
  });

  it('gives the hand-computed interval for two coin flips', () => {
    // P(0) = 0.25, P(1) = 0.5, P(2) = 0.25.
    expect(poissonBinomialInterval([0.5, 0.5], 0.1, 0.9)).toEqual({ low: 0, high: 2 });
    expect(poissonBinomialInterval([0.5, 0.5], 0.3, 0.7)).toEqual({ low: 1, high: 1 });
    expect(poissonBinomialInterval([1, 1, 0], 0.1, 0.9)).toEqual({ low: 2, high: 2 });
  });
});
