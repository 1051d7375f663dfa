import { beforeAll, describe, expect, it } from 'vitest';
import { bgnbdExpectedRepeat, type BgNbdParams } from '../../../src/scoring/bgnbd.js';
import {
  conditionalExpectedOrderValue,
  customerLifetimeValue,
  fitGammaGamma,
  gammaGammaLogLikelihood,
  type GammaGammaFit,
  type SpendObservation,
} from '../../../src/scoring/gammagamma.js';
import { summarizePurchases } from '../../../src/scoring/purchases.js';
import { CALIBRATION_END, loadCdnowOrders, loadCdnowSummaryWithSpend } from './cdnow.js';

const PUBLISHED = { p: 6.25, q: 3.74, gamma: 15.44 };
const BGNBD: BgNbdParams = { r: 0.2426, alpha: 4.414, a: 0.7929, b: 2.426 };

let fileRows: SpendObservation[];
let fileFit: GammaGammaFit;

beforeAll(() => {
  fileRows = loadCdnowSummaryWithSpend();
  fileFit = fitGammaGamma(fileRows);
});

const within = (actual: number, expected: number, rel: number): void => {
  expect(Math.abs(actual / expected - 1)).toBeLessThanOrEqual(rel);
};

describe('Gamma-Gamma on the CDNOW repeaters', () => {
  it('fits the 946 repeaters of the summary file to p = 6.25, q = 3.74, γ = 15.44 within 1%', () => {
    expect(fileFit.customers).toBe(946);
    expect(fileFit.skipped).toBe(1411);
    expect(fileFit.converged).toBe(true);
    within(fileFit.p, 6.25, 0.01);
    within(fileFit.q, 3.74, 0.01);
    within(fileFit.gamma, 15.44, 0.01);
    // lifetimes: 6.24880, 3.74459, 15.44775, LL −4055.9232
    within(fileFit.p, 6.2488, 1e-4);
    within(fileFit.q, 3.74459, 1e-4);
    within(fileFit.gamma, 15.44775, 1e-4);
    expect(fileFit.logLikelihood).toBeCloseTo(-4055.9232, 3);
  });

  it('has LL −4055.92471 at the published parameters', () => {
    expect(gammaGammaLogLikelihood(PUBLISHED, fileRows)).toBeCloseTo(-4055.92471, 4);
  });

  it('fits the spend rebuilt from the transaction log the same way', () => {
    const rows = [...loadCdnowOrders().values()].map((orders) => summarizePurchases(orders, CALIBRATION_END)!);
    const repeaters = rows.filter((r) => r.x > 0);
    expect(repeaters).toHaveLength(946);
    // The file's zbar is rounded to cents (its mean is 35.0786); unrounded means agree to the cent.
    expect(repeaters.reduce((s, r) => s + r.mean, 0) / 946).toBeCloseTo(35.08, 2);
    const fileMean = fileRows.filter((r) => r.x > 0).reduce((s, r) => s + r.mean, 0) / 946;
    expect(fileMean).toBeCloseTo(35.0786, 4);
    const rebuilt = fitGammaGamma(rows);
    within(rebuilt.p, 6.24957, 1e-3);
    within(rebuilt.q, 3.74422, 1e-3);
    within(rebuilt.gamma, 15.44352, 1e-3);
    expect(rebuilt.logLikelihood).toBeCloseTo(-4055.9177, 2);
  });

  it('E[M | x, zbar] for IDs 1–10 matches Hardie’s note-025 sheet (±0.1)', () => {
    const expected = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
    fileRows.slice(0, 10).forEach((row, i) => {
      expect(Math.abs(conditionalExpectedOrderValue(fileFit, row.x, row.mean) - expected[i]!)).toBeLessThan(0.1);
      expect(Math.abs(conditionalExpectedOrderValue(PUBLISHED, row.x, row.mean) - expected[i]!)).toBeLessThan(0.1);
    });
    // x = 0: the population mean γp/(q − 1).
    expect(conditionalExpectedOrderValue(fileFit, 0, 0)).toBeCloseTo((fileFit.gamma * fileFit.p) / (fileFit.q - 1), 12);
  });

  it('shrinks a customer’s own mean towards the population mean, less so with more purchases', () => {
    const population = conditionalExpectedOrderValue(PUBLISHED, 0, 0);
    const one = conditionalExpectedOrderValue(PUBLISHED, 1, 100);
    const twenty = conditionalExpectedOrderValue(PUBLISHED, 20, 100);
    expect(one).toBeGreaterThan(population);
    expect(one).toBeLessThan(twenty);
    expect(twenty).toBeLessThan(100);
  });

  it('rejects bad input with stable codes', () => {
    expect(() => fitGammaGamma([{ x: 0, mean: 0 }])).toThrowError(/at least one customer/);
    expect(() => fitGammaGamma([{ x: -1, mean: 3 }])).toThrowError(/non-negative integer/);
    expect(() => conditionalExpectedOrderValue({ p: 1, q: 0.5, gamma: 1 }, 0, 0)).toThrowError(/infinite/);
  });
});

describe('customer lifetime value', () => {
  const base = {
    bgnbd: BGNBD,
    gg: PUBLISHED,
    x: 2,
    tx: 30.43,
    T: 38.86,
    mean: 22.35,
    horizonWeeks: 52,
  };

  it('without discounting is E[Y(horizon)] × E[M]', () => {
    const result = customerLifetimeValue({ ...base, annualDiscountRate: 0 });
    const expected = bgnbdExpectedRepeat(BGNBD, 52, 2, 30.43, 38.86) * conditionalExpectedOrderValue(PUBLISHED, 2, 22.35);
    expect(result.clv).toBeCloseTo(expected, 10);
    expect(result.periods).toHaveLength(12);
    expect(result.periods.at(-1)!.endWeeks).toBe(52);
  });

  it('discounts each monthly period from its end', () => {
    const result = customerLifetimeValue({ ...base, annualDiscountRate: 0.1 });
    let manual = 0;
    let previous = 0;
    const step = 365.25 / 7 / 12;
    for (let k = 1; k <= 12; k++) {
      const t = Math.min(52, k * step);
      const cumulative = bgnbdExpectedRepeat(BGNBD, t, 2, 30.43, 38.86);
      manual += (cumulative - previous) * result.expectedOrderValue * 1.1 ** (-t / (365.25 / 7));
      previous = cumulative;
    }
    expect(result.clv).toBeCloseTo(manual, 10);
    expect(result.clv).toBeLessThan(customerLifetimeValue({ ...base, annualDiscountRate: 0 }).clv);
    expect(result.clv).toBeGreaterThan(0.9 * customerLifetimeValue({ ...base, annualDiscountRate: 0 }).clv);
  });

  it('grows with the horizon, scales with margin, and is zero for a zero horizon', () => {
    const one = customerLifetimeValue({ ...base, annualDiscountRate: 0.1 }).clv;
    const three = customerLifetimeValue({ ...base, horizonWeeks: 156, annualDiscountRate: 0.1 }).clv;
    expect(three).toBeGreaterThan(one);
    expect(customerLifetimeValue({ ...base, annualDiscountRate: 0.1, margin: 0.3 }).clv).toBeCloseTo(0.3 * one, 10);
    expect(customerLifetimeValue({ ...base, horizonWeeks: 0, annualDiscountRate: 0.1 }).clv).toBe(0);
  });

  it('values a lapsed customer below an active one with the same history', () => {
    const active = customerLifetimeValue({ ...base, tx: 38, annualDiscountRate: 0.1 }).clv;
    const lapsed = customerLifetimeValue({ ...base, tx: 2, annualDiscountRate: 0.1 }).clv;
    expect(lapsed).toBeLessThan(active);
  });
});
