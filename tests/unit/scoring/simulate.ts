/**
 * Seeded simulation of the BG/NBD and Gamma-Gamma generative processes, for
 * parameter-recovery tests and the fit benchmark. Test- and bench-only.
 */
import type { BgNbdParams } from '../../../src/scoring/bgnbd.js';
import type { GammaGammaParams } from '../../../src/scoring/gammagamma.js';

/** sfc32: small, fast, good-quality 32-bit PRNG; returns uniforms in [0, 1). */
export function rng(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

function normal(u: () => number): number {
  for (;;) {
    const x = 2 * u() - 1;
    const y = 2 * u() - 1;
    const s = x * x + y * y;
    if (s > 0 && s < 1) return x * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/** Gamma(shape, rate) by Marsaglia–Tsang (boosted for shape < 1). */
export function gammaVariate(u: () => number, shape: number, rate: number): number {
  if (shape < 1) {
    const v = gammaVariate(u, shape + 1, rate);
    return v * (1 - u()) ** (1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(u);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const w = 1 - u();
    if (Math.log(w) < 0.5 * x * x + d - d * v + d * Math.log(v)) return (d * v) / rate;
  }
}

export interface SimulatedCustomer {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  /** Mean value per repeat purchase day (0 if x = 0). */
  readonly mean: number;
}

export interface SimulationOptions {
  readonly customers: number;
  readonly bgnbd: BgNbdParams;
  readonly spend?: GammaGammaParams;
  readonly seed?: number;
  /** First purchases are spread uniformly over this many days (CDNOW: 84, a quarter). */
  readonly cohortDays?: number;
  /** Calibration ends this many days after the cohort's first day (CDNOW: 272). */
  readonly calibrationDays?: number;
  /** true: purchases land on whole days and same-day purchases merge, like real logs. */
  readonly dayGranular?: boolean;
}

/**
 * Customers from the BG/NBD story, times in weeks: λ ~ Gamma(r, α) and
 * p ~ Beta(a, b); purchases arrive as a Poisson(λ) process and the customer
 * drops out with probability p after each repeat purchase. With a spend model,
 * each purchase's value is Gamma(p, ν), ν ~ Gamma(q, γ), rounded to cents.
 */
export function simulateCustomers(options: SimulationOptions): SimulatedCustomer[] {
  const u = rng(options.seed ?? 1);
  const { r, alpha, a, b } = options.bgnbd;
  const cohortDays = options.cohortDays ?? 84;
  const calibrationDays = options.calibrationDays ?? 272;
  const dayGranular = options.dayGranular ?? true;
  const out: SimulatedCustomer[] = new Array(options.customers);
  for (let i = 0; i < options.customers; i++) {
    const entryDay = Math.floor(u() * cohortDays);
    const Tdays = calibrationDays - entryDay;
    const T = Tdays / 7;
    const lambda = gammaVariate(u, r, alpha);
    const ga = gammaVariate(u, a, 1);
    const p = ga / (ga + gammaVariate(u, b, 1));
    const startOfDay = u(); // time of day of the first purchase, as a fraction
    let t = 0;
    let x = 0;
    let last = 0;
    let lastDay = 0;
    for (;;) {
      t += -Math.log(1 - u()) / lambda;
      if (!(t <= T)) break;
      if (dayGranular) {
        const day = Math.floor(startOfDay + t * 7);
        if (day > Tdays) break;
        if (day !== lastDay) {
          x++;
          lastDay = day;
        }
      } else {
        x++;
        last = t;
      }
      if (u() < p) break;
    }
    const tx = dayGranular ? lastDay / 7 : last;
    let mean = 0;
    if (options.spend && x > 0) {
      const nu = gammaVariate(u, options.spend.q, options.spend.gamma);
      mean = Math.round((gammaVariate(u, options.spend.p * x, nu) / x) * 100) / 100;
    }
    out[i] = { x, tx, T, mean };
  }
  return out;
}
