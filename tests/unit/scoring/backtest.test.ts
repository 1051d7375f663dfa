import { describe, expect, it } from 'vitest';
import {
  auc,
  aucBootstrapInterval,
  aucDeLongInterval,
  averagePrecision,
  brierScore,
  calibrationTable,
  precisionRecallAt,
  topDecileLift,
  type RankedOutcome,
} from '../../../src/scoring/backtest.js';
import { seededRandom } from '../../../src/scoring/stats.js';

/** Ten accounts, three churned, risks as predicted churn probabilities. */
const TEN: RankedOutcome[] = [
  { risk: 0.9, churned: true },
  { risk: 0.8, churned: false },
  { risk: 0.7, churned: true },
  { risk: 0.6, churned: false },
  { risk: 0.5, churned: true },
  { risk: 0.4, churned: false },
  { risk: 0.3, churned: false },
  { risk: 0.2, churned: false },
  { risk: 0.1, churned: false },
  { risk: 0.05, churned: false },
];

describe('average precision', () => {
  it('sums precision at each churner found, top down (hand-computed)', () => {
    // Churners found at ranks 1, 3, 5: (1 + 2/3 + 3/5) / 3 = 34/45.
    expect(averagePrecision(TEN)).toBeCloseTo(34 / 45, 14);
    expect(averagePrecision(TEN.map((i) => ({ ...i, risk: i.churned ? 2 : 1 })))).toBe(1);
  });

  it('flags tied risks together', () => {
    // {0.5: one churner, one survivor} then {0.1: a churner}: ½·½ + ½·⅔.
    expect(
      averagePrecision([
        { risk: 0.5, churned: true },
        { risk: 0.5, churned: false },
        { risk: 0.1, churned: true },
      ]),
    ).toBeCloseTo(0.25 + 1 / 3, 14);
  });

  it('is null without churners and ignores non-finite risks', () => {
    expect(averagePrecision([{ risk: 1, churned: false }])).toBeNull();
    expect(
      averagePrecision([
        { risk: Number.NaN, churned: false },
        { risk: 0.2, churned: true },
      ]),
    ).toBe(1);
  });
});

describe('Brier score', () => {
  it('is the mean squared error of the probabilities (hand-computed)', () => {
    // (0.1² + 0.8² + 0.3² + 0.6² + 0.5² + 0.4² + 0.3² + 0.2² + 0.1² + 0.05²) / 10.
    expect(brierScore(TEN)).toBeCloseTo(1.6525 / 10, 14);
    expect(
      brierScore([
        { risk: 1, churned: true },
        { risk: 0, churned: false },
      ]),
    ).toBe(0);
    expect(brierScore([])).toBeNull();
  });

  it('refuses risks that are not probabilities', () => {
    expect(() => brierScore([{ risk: 40, churned: true }])).toThrowError(/probabilities \(0–1\); item #0 has 40/);
  });
});

describe('calibration table', () => {
  it('cuts into equal-count bins by prediction, with predicted and observed side by side', () => {
    const rows = calibrationTable(TEN, 5);
    expect(rows.map((r) => [r.bin, r.count, r.observedRate])).toEqual([
      [1, 2, 0],
      [2, 2, 0],
      [3, 2, 0.5],
      [4, 2, 0.5],
      [5, 2, 0.5],
    ]);
    expect(rows.map((r) => r.meanPredicted)).toEqual([0.075, 0.25, 0.45, 0.65, 0.85].map((v) => expect.closeTo(v, 12)));
    expect(rows[4]).toMatchObject({ minPredicted: 0.8, maxPredicted: 0.9 });
  });

  it('makes deciles by default, sizes differing by at most one, and skips empty bins', () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ risk: i / 25, churned: i % 3 === 0 }));
    const rows = calibrationTable(items);
    expect(rows).toHaveLength(10);
    expect(rows.reduce((s, r) => s + r.count, 0)).toBe(25);
    for (const r of rows) expect([2, 3]).toContain(r.count);
    expect(calibrationTable(TEN.slice(0, 3))).toHaveLength(3);
  });
});

describe('top-decile lift', () => {
  it('compares the churn rate of the riskiest 10% with the base rate', () => {
    // Top 10% = the 0.9 account, a churner: 1 ÷ 0.3.
    expect(topDecileLift(TEN)).toEqual({ lift: 1 / 0.3, topRate: 1, baseRate: 0.3, topCount: 1 });
    expect(topDecileLift(TEN, 0.3)!.topRate).toBeCloseTo(2 / 3, 14);
  });

  it('counts a tied group straddling the cut in proportion, whatever the order', () => {
    // 20 accounts; the top 10% is 2 of a group of 4 tied at 0.9 of which 2 churned.
    const items: RankedOutcome[] = [
      ...[true, false, true, false].map((churned) => ({ risk: 0.9, churned })),
      ...Array.from({ length: 16 }, (_, i) => ({ risk: 0.1, churned: i < 2 })),
    ];
    const lift = topDecileLift(items)!;
    expect(lift.topRate).toBeCloseTo(0.5, 14);
    expect(lift.baseRate).toBeCloseTo(0.2, 14);
    expect(lift.lift).toBeCloseTo(2.5, 14);
    expect(topDecileLift([...items].reverse())).toEqual(lift);
  });

  it('is null-lift without churners, null without items', () => {
    expect(topDecileLift([{ risk: 1, churned: false }])!.lift).toBeNull();
    expect(topDecileLift([])).toBeNull();
  });
});

describe('precision and recall at a threshold', () => {
  it('flags risk ≥ threshold', () => {
    expect(precisionRecallAt(TEN, 0.5)).toMatchObject({ truePositives: 3, falsePositives: 2, precision: 0.6, recall: 1 });
    expect(precisionRecallAt(TEN, 0.85)).toMatchObject({ truePositives: 1, falsePositives: 0, precision: 1, recall: 1 / 3 });
    expect(precisionRecallAt(TEN, 2)).toMatchObject({ precision: null, recall: 0 });
  });
});

/** DeLong's variance of the AUC, by brute force over pairs (small inputs only). */
function delongVariance(items: RankedOutcome[]): number {
  const pos = items.filter((i) => i.churned).map((i) => i.risk);
  const neg = items.filter((i) => !i.churned).map((i) => i.risk);
  const psi = (x: number, y: number): number => (x > y ? 1 : x === y ? 0.5 : 0);
  const v10 = pos.map((x) => neg.reduce((s, y) => s + psi(x, y), 0) / neg.length);
  const v01 = neg.map((y) => pos.reduce((s, x) => s + psi(x, y), 0) / pos.length);
  const a = v10.reduce((s, v) => s + v, 0) / pos.length;
  const varOf = (v: number[]): number => v.reduce((s, x) => s + (x - a) ** 2, 0) / (v.length - 1);
  return varOf(v10) / pos.length + varOf(v01) / neg.length;
}

describe('AUC bootstrap interval', () => {
  const u = seededRandom(11);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  // 1,500 accounts, a fifth churned, churners' risk shifted up by one standard deviation; risks rounded so ties occur.
  const items: RankedOutcome[] = Array.from({ length: 1500 }, (_, i) => {
    const churned = i % 5 === 0;
    return { risk: Math.round((normal() + (churned ? 1 : 0)) * 20) / 20, churned };
  });

  it('brackets the AUC, is reproducible for a seed, and is as wide as DeLong’s variance says', () => {
    const ci = aucBootstrapInterval(items, { replicates: 400 })!;
    expect(ci.auc).toBe(auc(items));
    expect(ci.low).toBeLessThan(ci.auc);
    expect(ci.high).toBeGreaterThan(ci.auc);
    expect(ci).toMatchObject({ level: 0.95, replicates: 400, seed: 1, method: 'bootstrap-percentile' });
    expect(aucBootstrapInterval(items, { replicates: 400 })).toEqual(ci);
    const expectedWidth = 2 * 1.959964 * Math.sqrt(delongVariance(items));
    expect((ci.high - ci.low) / expectedWidth).toBeGreaterThan(0.8);
    expect((ci.high - ci.low) / expectedWidth).toBeLessThan(1.2);
  });

  it('uses the default of 200 replicates, and narrows with a lower level', () => {
    const ci = aucBootstrapInterval(items)!;
    expect(ci.replicates).toBe(200);
    const narrow = aucBootstrapInterval(items, { level: 0.5 })!;
    expect(narrow.high - narrow.low).toBeLessThan(ci.high - ci.low);
  });

  it('DeLong’s interval matches the brute-force variance, and agrees with the bootstrap', () => {
    const d = aucDeLongInterval(items)!;
    expect(d.auc).toBe(auc(items));
    expect(d.standardError).toBeCloseTo(Math.sqrt(delongVariance(items)), 12);
    expect(d.low).toBeCloseTo(d.auc - 1.959964 * d.standardError, 6);
    const boot = aucBootstrapInterval(items, { replicates: 400 })!;
    expect(Math.abs(boot.low - d.low)).toBeLessThan(0.01);
    expect(Math.abs(boot.high - d.high)).toBeLessThan(0.01);
    expect(aucDeLongInterval([{ risk: 1, churned: true }])).toBeNull();
    // A perfect ranking: zero width, clipped to 1.
    expect(
      aucDeLongInterval([
        { risk: 2, churned: true },
        { risk: 1, churned: false },
        { risk: 0, churned: false },
      ]),
    ).toMatchObject({ auc: 1, low: 1, high: 1 });
  });

  it('is null without churners or survivors, and drops samples that lost a class', () => {
    expect(aucBootstrapInterval([{ risk: 1, churned: true }])).toBeNull();
    const tiny = aucBootstrapInterval(
      [
        { risk: 1, churned: true },
        { risk: 0, churned: false },
      ],
      { replicates: 100 },
    )!;
    // Half the resamples of two accounts hold only one class.
    expect(tiny.replicates).toBeLessThan(100);
    expect(tiny.replicates).toBeGreaterThan(20);
    expect(tiny.low).toBe(1);
  });
});
