import { describe, expect, it } from 'vitest';
import { fitBgNbd, groupBgNbdObservations } from '../../../src/scoring/bgnbd.js';
import { fitGammaGamma } from '../../../src/scoring/gammagamma.js';
import { simulateCustomers } from './simulate.js';

const TRUE_BGNBD = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const TRUE_GG = { p: 6.25, q: 3.74, gamma: 15.44 };

describe('parameter recovery on simulated customers', () => {
  it('recovers the BG/NBD and Gamma-Gamma parameters that generated the data', () => {
    const customers = simulateCustomers({
      customers: 100_000,
      bgnbd: TRUE_BGNBD,
      spend: TRUE_GG,
      seed: 42,
      dayGranular: false,
    });
    const fit = fitBgNbd(customers);
    expect(fit.converged).toBe(true);
    // a and b are strongly correlated (their ratio is well identified, their
    // scale less so), hence the looser bound on each and the tight one on the mean.
    for (const key of ['r', 'alpha'] as const) {
      expect(Math.abs(fit[key] / TRUE_BGNBD[key] - 1), key).toBeLessThan(0.05);
    }
    for (const key of ['a', 'b'] as const) {
      expect(Math.abs(fit[key] / TRUE_BGNBD[key] - 1), key).toBeLessThan(0.15);
    }
    const meanDropout = (p: { a: number; b: number }): number => p.a / (p.a + p.b);
    expect(Math.abs(meanDropout(fit) / meanDropout(TRUE_BGNBD) - 1)).toBeLessThan(0.05);
    const gg = fitGammaGamma(customers);
    for (const key of ['p', 'q', 'gamma'] as const) {
      expect(Math.abs(gg[key] / TRUE_GG[key] - 1), key).toBeLessThan(0.1);
    }
  });

  it('day-granular data collapse into far fewer patterns than customers', () => {
    const customers = simulateCustomers({ customers: 50_000, bgnbd: TRUE_BGNBD, seed: 7 });
    const patterns = groupBgNbdObservations(customers);
    expect(patterns.customers).toBe(50_000);
    expect(patterns.size).toBeLessThan(20_000);
    // Grouping changes nothing about the likelihood.
    expect(fitBgNbd(patterns).logLikelihood).toBeCloseTo(fitBgNbd(customers).logLikelihood, 6);
  });

  it('reports no convergence when the data have no finite maximum (one customer), instead of wild numbers', () => {
    const bg = fitBgNbd([{ x: 3, tx: 5, T: 10 }]);
    expect(bg.converged).toBe(false);
    const gg = fitGammaGamma([{ x: 1, mean: 10 }]);
    expect(gg.converged).toBe(false);
    for (const v of [bg.r, bg.alpha, bg.a, bg.b, gg.p, gg.q, gg.gamma]) expect(v).toBeLessThan(1e14);
  });
});
