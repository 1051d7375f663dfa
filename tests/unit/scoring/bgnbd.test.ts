import { beforeAll, describe, expect, it } from 'vitest';
import {
  bgnbdExpectedCount,
  bgnbdExpectedRepeat,
  bgnbdLogLikelihood,
  bgnbdPAlive,
  bgnbdProbNumPurchases,
  fitBgNbd,
  groupBgNbdObservations,
  type BgNbdFit,
  type BgNbdObservation,
  type BgNbdParams,
} from '../../../src/scoring/bgnbd.js';
import { ScoringError } from '../../../src/scoring/errors.js';
import { countPurchaseDaysBetween, summarizePurchases } from '../../../src/scoring/purchases.js';
import { hyp2f1 } from '../../../src/scoring/special.js';
import { CALIBRATION_END, HOLDOUT_END, loadCdnowOrders, loadCdnowSummary } from './cdnow.js';

const PUBLISHED: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

interface Customer extends BgNbdObservation {
  readonly holdout: number;
}

let rebuilt: Customer[];
let fit: BgNbdFit;

beforeAll(() => {
  const orders = loadCdnowOrders();
  rebuilt = [...orders.entries()]
    .sort((p, q) => p[0] - q[0])
    .map(([, list]) => {
      const s = summarizePurchases(list, CALIBRATION_END)!;
      return { x: s.x, tx: s.tx, T: s.T, holdout: countPurchaseDaysBetween(list, CALIBRATION_END, HOLDOUT_END) };
    });
  fit = fitBgNbd(rebuilt);
});

const within = (actual: number, expected: number, rel: number): void => {
  expect(Math.abs(actual / expected - 1)).toBeLessThanOrEqual(rel);
};

describe('BG/NBD fit on CDNOW (calibration rebuilt from the transaction log)', () => {
  it('reproduces the published parameters within 0.5% and the log-likelihood within 0.01', () => {
    expect(rebuilt).toHaveLength(2357);
    expect(fit.customers).toBe(2357);
    expect(fit.converged).toBe(true);
    within(fit.r, 0.2426, 0.005);
    within(fit.alpha, 4.414, 0.005);
    within(fit.a, 0.7929, 0.005);
    within(fit.b, 2.426, 0.005);
    expect(fit.logLikelihood).toBeCloseTo(-9582.43, 2);
    expect(Math.abs(fit.logLikelihood - -9582.43)).toBeLessThan(0.01);
  });

  it('matches lifetimes on the rebuilt data to 4 significant digits', () => {
    within(fit.r, 0.242595, 1e-4);
    within(fit.alpha, 4.413603, 1e-4);
    within(fit.a, 0.792922, 1e-4);
    within(fit.b, 2.425906, 1e-4);
  });

  it('works on distinct (x, t_x, T) patterns, far fewer than customers', () => {
    const patterns = groupBgNbdObservations(rebuilt);
    expect(fit.patterns).toBe(patterns.size);
    expect(patterns.size).toBeLessThan(1100);
    expect(patterns.customers).toBe(2357);
    const again = fitBgNbd(patterns);
    expect(again.logLikelihood).toBeCloseTo(fit.logLikelihood, 8);
  });

  it('gives the same answer from any reasonable start', () => {
    const other = fitBgNbd(rebuilt, { start: { r: 5, alpha: 50, a: 3, b: 0.2 } });
    expect(other.logLikelihood).toBeCloseTo(fit.logLikelihood, 6);
    within(other.a, fit.a, 1e-4);
  });
});

describe('BG/NBD log-likelihood on the published summary file', () => {
  it('is −9582.42683 at the published rounded parameters', () => {
    const rows = loadCdnowSummary();
    expect(bgnbdLogLikelihood(PUBLISHED, rows)).toBeCloseTo(-9582.42683, 3);
  });

  it('fits the file to lifetimes’ values', () => {
    const fileFit = fitBgNbd(loadCdnowSummary());
    within(fileFit.r, 0.242593, 1e-4);
    within(fileFit.alpha, 4.413532, 1e-4);
    within(fileFit.a, 0.792886, 1e-4);
    within(fileFit.b, 2.425752, 1e-4);
    expect(fileFit.logLikelihood).toBeCloseTo(-9582.4256, 3);
  });

  it('equals the sum of per-customer terms when customers are pre-aggregated with counts', () => {
    const rows: BgNbdObservation[] = [
      { x: 0, tx: 0, T: 38.86, count: 3 },
      { x: 2, tx: 30.43, T: 38.86 },
      { x: 2, tx: 30.43, T: 38.86 },
    ];
    const flat: BgNbdObservation[] = [
      { x: 0, tx: 0, T: 38.86 },
      { x: 0, tx: 0, T: 38.86 },
      { x: 0, tx: 0, T: 38.86 },
      { x: 2, tx: 30.43, T: 38.86, count: 2 },
    ];
    expect(bgnbdLogLikelihood(PUBLISHED, rows)).toBeCloseTo(bgnbdLogLikelihood(PUBLISHED, flat), 12);
    expect(groupBgNbdObservations(rows).size).toBe(2);
  });
});

describe('BG/NBD point checks (README)', () => {
  it('E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226 (Hardie’s sheet)', () => {
    expect(Math.abs(bgnbdExpectedRepeat(fit, 39, 2, 30.43, 38.86) - 1.226)).toBeLessThanOrEqual(0.001);
  });

  it('E[X(t)] matches the Excel sheet to 3 decimals', () => {
    const times = [0.1429, 1, 3, 31.8571, 32, 78];
    const expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
    times.forEach((t, i) => {
      expect(Math.abs(bgnbdExpectedCount(fit, t) - expected[i]!)).toBeLessThan(1.5e-3);
    });
    expect(bgnbdExpectedCount(fit, 0)).toBe(0);
  });

  it('P(N(t) = n) matches BTYD at the published parameters', () => {
    expect(bgnbdProbNumPurchases(PUBLISHED, 39, 0)).toBeCloseTo(0.5737864, 7);
    const p210 = bgnbdProbNumPurchases(PUBLISHED, 2, 10);
    expect(Math.abs(p210 / 1.07869e-7 - 1)).toBeLessThan(1e-4);
    const expected = [0.0019995214, 0.0015170236, 0.001163315, 0.0009003148, 0.0007023638, 0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.000222226];
    expected.forEach((e, i) => {
      expect(bgnbdProbNumPurchases(PUBLISHED, 30, 11 + i)).toBeCloseTo(e, 10);
    });
  });

  it('P(N(t) = n) sums to 1 over n and its mean is E[X(t)]', () => {
    let total = 0;
    let mean = 0;
    for (let n = 0; n < 4000; n++) {
      const p = bgnbdProbNumPurchases(PUBLISHED, 39, n);
      total += p;
      mean += n * p;
    }
    expect(total).toBeCloseTo(1, 6);
    expect(mean).toBeCloseTo(bgnbdExpectedCount(PUBLISHED, 39), 3);
  });

  it('P(alive | x=2, t_x=30.43, T=38.86) ≈ 0.7266, and 1 without repeat purchases', () => {
    expect(bgnbdPAlive(fit, 2, 30.43, 38.86)).toBeCloseTo(0.7266, 4);
    expect(bgnbdPAlive(fit, 0, 0, 38.86)).toBe(1);
    // A customer who bought recently is more alive than one who stopped long ago.
    expect(bgnbdPAlive(fit, 5, 38, 38.86)).toBeGreaterThan(bgnbdPAlive(fit, 5, 10, 38.86));
  });
});

describe('BG/NBD 39-week holdout (weeks 40–78)', () => {
  it('the log holds 2,457 calibration and 1,882 holdout repeat purchase days', () => {
    expect(rebuilt.reduce((s, c) => s + c.x, 0)).toBe(2457);
    expect(rebuilt.reduce((s, c) => s + c.holdout, 0)).toBe(1882);
  });

  it('under-forecasts cumulative repeat purchases at week 78 by about 4%, as in the paper', () => {
    // Per cohort entry day: a customer's expected repeat purchases by week 78
    // are E[X(T_i + 39)], T_i being her age at the end of calibration.
    const byAge = new Map<number, number>();
    for (const c of rebuilt) byAge.set(c.T, (byAge.get(c.T) ?? 0) + 1);
    let forecast = 0;
    for (const [T, n] of byAge) forecast += n * bgnbdExpectedCount(fit, T + 39);
    const error = forecast / 4339 - 1;
    expect(error).toBeGreaterThan(-0.06);
    expect(error).toBeLessThan(-0.02);
    expect(forecast).toBeCloseTo(4160.6, 0);
  });

  it('the conditional holdout forecast totals ≈ 1,653 and tracks actuals by calibration frequency', () => {
    const expected = rebuilt.map((c) => bgnbdExpectedRepeat(fit, 39, c.x, c.tx, c.T));
    const total = expected.reduce((s, v) => s + v, 0);
    within(total, 1653.4, 0.02);
    // Figure 4 of FHL05a: mean conditional expectation per calibration x.
    const groupMean = (pick: (x: number) => boolean): number => {
      const idx = rebuilt.map((c, i) => (pick(c.x) ? i : -1)).filter((i) => i >= 0);
      return idx.reduce((s, i) => s + expected[i]!, 0) / idx.length;
    };
    expect(groupMean((x) => x === 0)).toBeCloseTo(0.2251, 3);
    expect(groupMean((x) => x === 1)).toBeCloseTo(0.5231, 3);
    expect(groupMean((x) => x === 2)).toBeCloseTo(1.0441, 3);
    expect(groupMean((x) => x >= 7)).toBeCloseTo(6.1572, 3);
    // Per-customer correlation with what happened: 0.626 in the paper.
    const actual = rebuilt.map((c) => c.holdout);
    expect(correlation(expected, actual)).toBeCloseTo(0.626, 2);
  });
});

describe('BG/NBD conditional expectation numerics', () => {
  const direct = (p: BgNbdParams, t: number, x: number, tx: number, T: number): number => {
    const { r, alpha, a, b } = p;
    const z = t / (alpha + T + t);
    const bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z);
    const D = x > 0 ? 1 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) : 1;
    return (((a + b + x - 1) / (a - 1)) * bracket) / D;
  };

  it('agrees with the paper’s closed form (FHL05a eq. 10) for a < 1 and a > 1', () => {
    const cases: [BgNbdParams, number, number, number, number][] = [
      [PUBLISHED, 39, 2, 30.43, 38.86],
      [PUBLISHED, 52, 0, 0, 20],
      [PUBLISHED, 10, 7, 12, 13],
      [{ r: 1.7, alpha: 12, a: 2.5, b: 4 }, 26, 3, 10, 30],
      [{ r: 0.5, alpha: 3, a: 1.4, b: 0.6 }, 100, 1, 2, 5],
    ];
    for (const [p, t, x, tx, T] of cases) {
      const ours = bgnbdExpectedRepeat(p, t, x, tx, T);
      expect(Math.abs(ours / direct(p, t, x, tx, T) - 1)).toBeLessThan(1e-10);
    }
  });

  it('is continuous through a = 1, where the closed form divides by zero', () => {
    const at = (a: number): number => bgnbdExpectedRepeat({ r: 0.8, alpha: 5, a, b: 3 }, 39, 2, 20, 30);
    expect(Number.isFinite(at(1))).toBe(true);
    expect(at(1)).toBeCloseTo(at(1 + 1e-6), 5);
    expect(at(1)).toBeCloseTo(at(1 - 1e-6), 5);
  });

  it('stays finite for very heavy buyers and long horizons', () => {
    const v = bgnbdExpectedRepeat(PUBLISHED, 156, 400, 38, 38.86);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(100);
    expect(bgnbdExpectedRepeat(PUBLISHED, 156, 400, 38, 38.86)).toBeGreaterThan(bgnbdExpectedRepeat(PUBLISHED, 104, 400, 38, 38.86));
  });
});

describe('BG/NBD input validation', () => {
  it('rejects impossible observations with a stable code', () => {
    const bad: BgNbdObservation[][] = [
      [{ x: -1, tx: 0, T: 1 }],
      [{ x: 1.5, tx: 1, T: 2 }],
      [{ x: 1, tx: 3, T: 2 }],
      [{ x: 0, tx: 1, T: 2 }],
      [{ x: 1, tx: 1, T: Number.NaN }],
    ];
    for (const rows of bad) {
      expect(() => fitBgNbd(rows)).toThrowError(ScoringError);
      try {
        fitBgNbd(rows);
      } catch (e) {
        expect((e as ScoringError).code).toBe('SCORING_INVALID_OBSERVATION');
      }
    }
    expect(() => fitBgNbd([])).toThrowError(/at least one customer/);
    expect(() => bgnbdPAlive({ ...PUBLISHED, a: 0 }, 1, 1, 2)).toThrowError(/parameter a/);
  });
});

function correlation(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
