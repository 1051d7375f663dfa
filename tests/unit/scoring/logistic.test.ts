import { describe, expect, it } from 'vitest';
import { fitLogistic, pickThresholdForPrecision, predictChurnProbability } from '../../../src/scoring/logistic.js';
import { seededRandom, sigmoid } from '../../../src/scoring/stats.js';

const NAMES = ['usageChangePct', 'complaints90d', 'daysSinceTouch', 'nps'];
const TRUTH = { intercept: -1.5, coefficients: [-0.02, 0.6, 0.01, -0.15] };

/** A simulated book: measures on their own scales, churn drawn from a known logistic model. */
function simulateBook(rows: number, seed: number): { X: number[][]; y: boolean[] } {
  const u = seededRandom(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const poisson = (lambda: number): number => {
    let k = 0;
    let p = Math.exp(-lambda);
    let cdf = p;
    const v = u();
    while (v > cdf) {
      k++;
      p *= lambda / k;
      cdf += p;
    }
    return k;
  };
  const X: number[][] = [];
  const y: boolean[] = [];
  for (let i = 0; i < rows; i++) {
    const row = [30 * normal(), poisson(0.8), Math.floor(180 * u()), Math.floor(11 * u())];
    let z = TRUTH.intercept;
    row.forEach((v, j) => (z += TRUTH.coefficients[j]! * v));
    X.push(row);
    y.push(u() < sigmoid(z));
  }
  return { X, y };
}

describe('fitLogistic on a simulated book (20,000 rows, known coefficients)', () => {
  const { X, y } = simulateBook(20_000, 2024);
  const fit = fitLogistic(X, y, { featureNames: NAMES, l2: 1e-6 });

  it('recovers every coefficient in original units within 4 standard errors and 15%', () => {
    expect(fit.status).toBe('ok');
    expect(fit.converged).toBe(true);
    expect(fit.warnings).toEqual([]);
    expect(fit.featureNames).toEqual(NAMES);
    fit.coefficients.forEach((c, j) => {
      const se = fit.standardErrors[j]!;
      expect(se).toBeGreaterThan(0);
      expect(Math.abs(c - TRUTH.coefficients[j]!)).toBeLessThan(4 * se);
      expect(Math.abs(c / TRUTH.coefficients[j]! - 1)).toBeLessThan(0.15);
    });
    expect(Math.abs(fit.intercept - TRUTH.intercept)).toBeLessThan(4 * fit.interceptStandardError!);
  });

  it('predicts with the original-unit coefficients exactly as with the standardised ones', () => {
    for (const i of [0, 17, 999]) {
      let z = fit.standardizedIntercept;
      X[i]!.forEach((v, j) => (z += (fit.standardizedCoefficients[j]! * (v - fit.means[j]!)) / fit.scales[j]!));
      expect(predictChurnProbability(fit, X[i]!)).toBeCloseTo(sigmoid(z), 12);
    }
  });

  it('is calibrated in the large: mean prediction equals the churn rate (unpenalised intercept)', () => {
    const mean = X.reduce((s, row) => s + predictChurnProbability(fit, row), 0) / X.length;
    expect(mean).toBeCloseTo(y.filter(Boolean).length / y.length, 6);
  });

  it('shrinks coefficients towards zero, never the base rate, as the penalty grows', () => {
    const strong = fitLogistic(X, y, { l2: 10 });
    const huge = fitLogistic(X, y, { l2: 1e9 });
    strong.standardizedCoefficients.forEach((c, j) => expect(Math.abs(c)).toBeLessThan(Math.abs(fit.standardizedCoefficients[j]!)));
    const rate = y.filter(Boolean).length / y.length;
    expect(sigmoid(huge.standardizedIntercept)).toBeCloseTo(rate, 6);
    for (const c of huge.coefficients) expect(Math.abs(c)).toBeLessThan(1e-6);
  });

  it('weights count as repeated rows', () => {
    const small = simulateBook(300, 5);
    const doubledX = [...small.X, ...small.X];
    const doubledY = [...small.y, ...small.y];
    const a = fitLogistic(doubledX, doubledY);
    const b = fitLogistic(small.X, small.y, { weights: small.X.map(() => 2) });
    a.coefficients.forEach((c, j) => expect(b.coefficients[j]).toBeCloseTo(c, 8));
  });
});

describe('fitLogistic on degenerate data', () => {
  it('with no churners: does not throw, says so, predicts a smoothed base rate', () => {
    const fit = fitLogistic(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [false, false, false],
      { featureNames: ['a', 'b'] },
    );
    expect(fit.status).toBe('no-positives');
    expect(fit.coefficients).toEqual([0, 0]);
    expect(predictChurnProbability(fit, [1, 2])).toBeCloseTo(0.5 / 4, 12);
    expect(fit.warnings[0]).toBe('no churners among 3 rows: nothing to learn; the model predicts 12.5% for everyone');
  });

  it('with every row churned, and with no rows', () => {
    const all = fitLogistic([[1], [2]], [1, 1]);
    expect(all.status).toBe('no-negatives');
    expect(predictChurnProbability(all, [5])).toBeCloseTo(2.5 / 3, 12);
    const none = fitLogistic([], [], { featureNames: ['a'] });
    expect(none.status).toBe('empty');
    expect(none.coefficients).toEqual([0]);
    expect(predictChurnProbability(none, [3])).toBe(0.5);
  });

  it('gives a constant feature coefficient 0 and names it, fitting the rest', () => {
    const { X, y } = simulateBook(5000, 9);
    const withConstant = X.map((row) => [row[0]!, 7, row[1]!]);
    const fit = fitLogistic(withConstant, y, { featureNames: ['usage', 'plan', 'complaints'] });
    expect(fit.status).toBe('ok');
    expect(fit.constantFeatures).toEqual([1]);
    expect(fit.coefficients[1]).toBe(0);
    expect(fit.standardErrors[1]).toBeNull();
    expect(fit.warnings).toEqual(['feature "plan" has the same value in every row, so it cannot explain churn; its coefficient is 0']);
    expect(fit.coefficients[2]).toBeGreaterThan(0.3);
    expect(Number.isFinite(fit.intercept)).toBe(true);
  });

  it('stays finite on perfectly separated classes with a penalty, and reports non-convergence without one', () => {
    const X = [[0], [1], [2], [3], [4], [5]];
    const y = [false, false, false, true, true, true];
    const penalised = fitLogistic(X, y, { l2: 1e-3 });
    expect(penalised.status).toBe('ok');
    expect(Number.isFinite(penalised.coefficients[0]!)).toBe(true);
    expect(predictChurnProbability(penalised, [5])).toBeGreaterThan(0.9);
    const bare = fitLogistic(X, y, { l2: 0, maxIterations: 30 });
    expect(bare.status).toBe('not-converged');
    expect(bare.warnings[0]).toMatch(/perfectly separable; use a positive l2 penalty/);
  });

  it('rejects malformed input with the row named', () => {
    expect(() => fitLogistic([[1, 2], [3]], [true, false])).toThrowError(/row #1 has 1 features, expected 2/);
    expect(() => fitLogistic([[1], [Number.NaN]], [true, false], { featureNames: ['nps'] })).toThrowError(/row #1: feature "nps" is NaN/);
    expect(() => fitLogistic([[1]], [2])).toThrowError(/label must be/);
    expect(() => fitLogistic([[1]], [true, false])).toThrowError(/1 feature rows but 2 labels/);
  });
});

describe('pickThresholdForPrecision', () => {
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
  const labels = [true, true, false, true, false, false, true, false];
  // Flag ≥ s:  0.9 → 1/1, 0.8 → 2/2, 0.7 → 2/3, 0.6 → 3/4, 0.5 → 3/5, 0.4 → 3/6, 0.3 → 4/7, 0.2 → 4/8.

  it('returns the threshold with the most recall among those reaching the precision', () => {
    expect(pickThresholdForPrecision(scores, labels, 0.75)).toEqual({ threshold: 0.6, precision: 0.75, recall: 0.75, flagged: 4, truePositives: 3 });
    expect(pickThresholdForPrecision(scores, labels, 1)).toEqual({ threshold: 0.8, precision: 1, recall: 0.5, flagged: 2, truePositives: 2 });
    // Equal recall at 0.3 (4/7) and 0.2 (4/8), both reaching 50%: the higher threshold.
    expect(pickThresholdForPrecision(scores, labels, 0.5)).toEqual({ threshold: 0.3, precision: 4 / 7, recall: 1, flagged: 7, truePositives: 4 });
    expect(pickThresholdForPrecision(scores, labels, 0.58)!.threshold).toBe(0.6);
  });

  it('flags tied scores together', () => {
    // ≥ 0.5 flags both tied accounts (2 of 3 churned); the churner alone cannot be flagged at 0.5.
    const r = pickThresholdForPrecision([0.9, 0.5, 0.5, 0.1], [true, true, false, false], 0.6);
    expect(r).toEqual({ threshold: 0.5, precision: 2 / 3, recall: 1, flagged: 3, truePositives: 2 });
    expect(pickThresholdForPrecision([0.9, 0.5, 0.5, 0.1], [true, true, false, false], 0.7)).toEqual({
      threshold: 0.9,
      precision: 1,
      recall: 0.5,
      flagged: 1,
      truePositives: 1,
    });
  });

  it('is null when unreachable or nobody churned', () => {
    expect(pickThresholdForPrecision([0.9, 0.8], [false, true], 0.9)).toBeNull();
    expect(pickThresholdForPrecision([0.9, 0.8], [false, false], 0.1)).toBeNull();
    expect(pickThresholdForPrecision([], [], 0.5)).toBeNull();
  });
});
