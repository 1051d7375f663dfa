/**
 * Renewal forecast: for a list of upcoming contract renewals, how many will
 * renew, how much ARR is at risk, and how sure we are. Pure.
 *
 * Each renewal is a Bernoulli trial with its own renewal probability:
 * - from the contractual retention model of its segment, r(t) at its tenure
 *   (see retention.ts) — loyal long-tenure customers renew more often;
 * - or, when a health model gives this customer a churn probability, that
 *   probability pooled with the model's (see `pooledChurnProbability`).
 * Trials are treated as independent given their probabilities.
 */
import { ScoringError } from './errors.js';
import { checkRetentionParams, retentionRate, type RetentionParams } from './retention.js';
import { logit, normalQuantile, seededRandom, sigmoid, sortedQuantile } from './stats.js';

export interface UpcomingRenewal {
  /** Carried through to the per-renewal rows, for the caller's own bookkeeping. */
  readonly id?: string;
  /** Annual recurring revenue up for renewal (≥ 0). */
  readonly arr: number;
  /**
   * Contract periods the customer will have completed at this renewal: 1 for
   * the first renewal, n for the n-th. Its renewal probability is r(n), the
   * share of customers in period n who renew at its end.
   */
  readonly tenurePeriods: number;
  /** Key into the fitted parameters (e.g. plan or tier). */
  readonly segment: string;
  /** The health model's probability (0–1) that this customer churns at this renewal, if it has one. */
  readonly churnProbability?: number | null;
}

export interface RenewalForecastOptions {
  /** Central interval coverage. Default 0.8 (the 10th to the 90th percentile). */
  readonly level?: number;
  /**
   * Weight of the health model in the pooled churn probability, 0–1.
   * Default 0.5; 1 uses the health model's probability alone, 0 ignores it.
   */
  readonly healthWeight?: number;
  /** Monte Carlo draws for the ARR interval. Default 10,000. */
  readonly simulations?: number;
  /** Seed of the Monte Carlo draws (same seed, same interval). Default 1. */
  readonly seed?: number;
  /** Up to this many renewals the count interval is exact (O(n²)); above, a normal approximation. Default 5,000. */
  readonly exactCountLimit?: number;
}

export type RenewalProbabilitySource = 'retention-model' | 'health-model' | 'pooled';

export interface RenewalProbability {
  /** Position in the input list. */
  readonly index: number;
  readonly id: string | null;
  readonly segment: string;
  readonly arr: number;
  readonly renewProbability: number;
  /** r(t) of the segment's retention model as a churn probability, 1 − r(t); null without a fit. */
  readonly modelChurnProbability: number | null;
  readonly healthChurnProbability: number | null;
  readonly source: RenewalProbabilitySource;
}

export interface SkippedRenewal {
  readonly index: number;
  readonly id: string | null;
  readonly segment: string;
  readonly reason: string;
}

export interface SegmentRenewalForecast {
  readonly segment: string;
  readonly renewals: number;
  readonly expectedRenewals: number;
  readonly expectedRenewalRate: number;
  readonly arr: number;
  readonly expectedArrAtRisk: number;
}

export interface RenewalForecast {
  /** Renewals forecast (the input minus `skipped`). */
  readonly renewals: number;
  readonly expectedRenewals: number;
  /** expectedRenewals / renewals; null when there is nothing to forecast. */
  readonly expectedRenewalRate: number | null;
  readonly arr: number;
  readonly expectedRenewedArr: number;
  readonly expectedArrAtRisk: number;
  /** expectedRenewedArr / arr (ARR-weighted renewal rate); null when arr is 0. */
  readonly arrRenewalRate: number | null;
  readonly renewalsInterval: {
    readonly low: number;
    readonly high: number;
    readonly level: number;
    /** 'exact': quantiles of the Poisson-binomial distribution; 'normal': mean ± z·sd, widened to whole renewals. */
    readonly method: 'exact' | 'normal';
  };
  readonly arrAtRiskInterval: {
    readonly low: number;
    readonly high: number;
    readonly level: number;
    readonly method: 'monte-carlo';
    readonly simulations: number;
    readonly seed: number;
  };
  readonly bySegment: readonly SegmentRenewalForecast[];
  readonly items: readonly RenewalProbability[];
  readonly skipped: readonly SkippedRenewal[];
}

/** Probabilities are kept this far from 0 and 1 before taking log-odds. */
const PROBABILITY_FLOOR = 1e-6;

/**
 * The churn probability of one renewal from the two sources, pooled on the
 * log-odds scale:
 *
 *   logit p = w · logit p_health + (1 − w) · logit p_model.
 *
 * Why: the retention model knows how churn falls with tenure in this segment
 * but nothing about this customer; the health model knows this customer's
 * signals but usually little about tenure. Averaging log-odds (a logarithmic
 * opinion pool) is the standard way to combine two probability forecasts of
 * one event: it keeps the answer a proper probability, respects a confident
 * source (a 2% and a 50% pool to ~12%, not to a meaningless 26%), and with
 * w = 1 or 0 reduces to one source alone. The weights sum to 1 because the two
 * share information (both saw the same book), so adding log-odds as if they
 * were independent evidence would overstate certainty. Without a health
 * probability the model's is used as is.
 */
export function pooledChurnProbability(modelChurn: number, healthChurn: number | null, healthWeight = 0.5): number {
  if (healthChurn === null) return modelChurn;
  if (!(healthWeight >= 0 && healthWeight <= 1)) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `healthWeight must lie in 0–1, got ${healthWeight}`);
  }
  if (healthWeight === 1) return healthChurn;
  if (healthWeight === 0) return modelChurn;
  const clamp = (p: number): number => Math.min(1 - PROBABILITY_FLOOR, Math.max(PROBABILITY_FLOOR, p));
  return sigmoid(healthWeight * logit(clamp(healthChurn)) + (1 - healthWeight) * logit(clamp(modelChurn)));
}

/**
 * Forecasts a list of upcoming renewals. Renewals whose segment has no fitted
 * parameters and no health probability cannot be forecast; they are listed in
 * `skipped` with the reason rather than failing the whole forecast.
 */
export function forecastRenewals(
  renewals: readonly UpcomingRenewal[],
  paramsBySegment: Readonly<Record<string, RetentionParams>>,
  options: RenewalForecastOptions = {},
): RenewalForecast {
  const level = options.level ?? 0.8;
  const healthWeight = options.healthWeight ?? 0.5;
  const simulations = options.simulations ?? 10_000;
  const seed = options.seed ?? 1;
  const exactCountLimit = options.exactCountLimit ?? 5_000;
  if (!(level > 0 && level < 1)) throw new ScoringError('SCORING_INVALID_ARGUMENT', `level must lie strictly between 0 and 1, got ${level}`);
  if (!(healthWeight >= 0 && healthWeight <= 1)) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `healthWeight must lie in 0–1, got ${healthWeight}`);
  }
  if (!Number.isInteger(simulations) || simulations < 1) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `simulations must be a positive whole number, got ${simulations}`);
  }
  for (const [segment, params] of Object.entries(paramsBySegment)) {
    try {
      checkRetentionParams(params);
    } catch (e) {
      throw new ScoringError('SCORING_INVALID_PARAMETERS', `segment "${segment}": ${(e as Error).message}`);
    }
  }

  const items: RenewalProbability[] = [];
  const skipped: SkippedRenewal[] = [];
  renewals.forEach((r, index) => {
    const id = r.id ?? null;
    if (!Number.isFinite(r.arr) || r.arr < 0) {
      throw new ScoringError('SCORING_INVALID_OBSERVATION', `renewal #${index}${id ? ` (${id})` : ''}: arr must be a number ≥ 0, got ${r.arr}`);
    }
    if (!Number.isInteger(r.tenurePeriods) || r.tenurePeriods < 1) {
      throw new ScoringError(
        'SCORING_INVALID_OBSERVATION',
        `renewal #${index}${id ? ` (${id})` : ''}: tenurePeriods must be a whole number ≥ 1 (1 = first renewal), got ${r.tenurePeriods}`,
      );
    }
    const health = r.churnProbability ?? null;
    if (health !== null && !(health >= 0 && health <= 1)) {
      throw new ScoringError('SCORING_INVALID_OBSERVATION', `renewal #${index}${id ? ` (${id})` : ''}: churnProbability must lie in 0–1, got ${health}`);
    }
    const params = Object.hasOwn(paramsBySegment, r.segment) ? paramsBySegment[r.segment] : undefined;
    const model = params ? 1 - retentionRate(params, r.tenurePeriods) : null;
    if (model === null && health === null) {
      skipped.push({ index, id, segment: r.segment, reason: `no retention fit for segment "${r.segment}" and no health probability` });
      return;
    }
    let churn: number;
    let source: RenewalProbabilitySource;
    if (model === null) {
      churn = health!;
      source = 'health-model';
    } else if (health === null || healthWeight === 0) {
      churn = model;
      source = 'retention-model';
    } else {
      churn = pooledChurnProbability(model, health, healthWeight);
      source = healthWeight === 1 ? 'health-model' : 'pooled';
    }
    items.push({
      index,
      id,
      segment: r.segment,
      arr: r.arr,
      renewProbability: 1 - churn,
      modelChurnProbability: model,
      healthChurnProbability: health,
      source,
    });
  });

  const n = items.length;
  let expectedRenewals = 0;
  let arr = 0;
  let expectedArrAtRisk = 0;
  const segments = new Map<string, { renewals: number; expectedRenewals: number; arr: number; expectedArrAtRisk: number }>();
  for (const it of items) {
    expectedRenewals += it.renewProbability;
    arr += it.arr;
    expectedArrAtRisk += it.arr * (1 - it.renewProbability);
    const s = segments.get(it.segment) ?? { renewals: 0, expectedRenewals: 0, arr: 0, expectedArrAtRisk: 0 };
    s.renewals++;
    s.expectedRenewals += it.renewProbability;
    s.arr += it.arr;
    s.expectedArrAtRisk += it.arr * (1 - it.renewProbability);
    segments.set(it.segment, s);
  }
  const lowQ = (1 - level) / 2;
  const highQ = (1 + level) / 2;
  const probabilities = items.map((i) => i.renewProbability);
  const renewalsInterval =
    n <= exactCountLimit
      ? { ...poissonBinomialInterval(probabilities, lowQ, highQ), level, method: 'exact' as const }
      : { ...normalCountInterval(probabilities, lowQ, highQ), level, method: 'normal' as const };
  const atRisk = simulateArrAtRisk(items, simulations, seed);
  return {
    renewals: n,
    expectedRenewals,
    expectedRenewalRate: n > 0 ? expectedRenewals / n : null,
    arr,
    expectedRenewedArr: arr - expectedArrAtRisk,
    expectedArrAtRisk,
    arrRenewalRate: arr > 0 ? (arr - expectedArrAtRisk) / arr : null,
    renewalsInterval,
    arrAtRiskInterval: {
      low: sortedQuantile(atRisk, lowQ),
      high: sortedQuantile(atRisk, highQ),
      level,
      method: 'monte-carlo',
      simulations,
      seed,
    },
    bySegment: [...segments.entries()]
      .sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : 0))
      .map(([segment, s]) => ({ segment, ...s, expectedRenewalRate: s.expectedRenewals / s.renewals })),
    items,
    skipped,
  };
}

/**
 * The distribution of the number of successes among independent trials with
 * probabilities p_i (Poisson-binomial), by the usual O(n²) recursion; then
 * low = the smallest k with P(X ≤ k) ≥ lowQ and high = the smallest k with
 * P(X ≤ k) ≥ highQ, so the interval holds at least highQ − lowQ.
 */
export function poissonBinomialInterval(probabilities: readonly number[], lowQ: number, highQ: number): { low: number; high: number } {
  const pmf = poissonBinomialPmf(probabilities);
  let cdf = 0;
  let low = -1;
  let high = probabilities.length;
  for (let k = 0; k < pmf.length; k++) {
    cdf += pmf[k]!;
    if (low < 0 && cdf >= lowQ - 1e-12) low = k;
    if (cdf >= highQ - 1e-12) {
      high = k;
      break;
    }
  }
  return { low: Math.max(0, low), high };
}

/** P(X = k), k = 0..n, for X the number of successes of independent trials with probabilities p_i. */
export function poissonBinomialPmf(probabilities: readonly number[]): Float64Array {
  const n = probabilities.length;
  const pmf = new Float64Array(n + 1);
  pmf[0] = 1;
  for (let i = 0; i < n; i++) {
    const p = probabilities[i]!;
    const q = 1 - p;
    for (let k = i + 1; k >= 1; k--) pmf[k] = pmf[k]! * q + pmf[k - 1]! * p;
    pmf[0] = pmf[0]! * q;
  }
  return pmf;
}

function normalCountInterval(probabilities: readonly number[], lowQ: number, highQ: number): { low: number; high: number } {
  let mean = 0;
  let variance = 0;
  for (const p of probabilities) {
    mean += p;
    variance += p * (1 - p);
  }
  const sd = Math.sqrt(variance);
  const n = probabilities.length;
  return {
    low: Math.max(0, Math.floor(mean + normalQuantile(lowQ) * sd)),
    high: Math.min(n, Math.ceil(mean + normalQuantile(highQ) * sd)),
  };
}

/**
 * ARR lost in each of `simulations` draws of every renewal's outcome, sorted.
 * Monte Carlo rather than a normal approximation because ARR is usually
 * dominated by a few large accounts: the sum is then lumpy and skewed (one
 * whale churning or not), which mean ± z·sd misrepresents. Costs
 * O(renewals × simulations); the seed makes it reproducible.
 */
function simulateArrAtRisk(items: readonly RenewalProbability[], simulations: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const totals = new Float64Array(simulations);
  const arr = Float64Array.from(items, (i) => i.arr);
  const churn = Float64Array.from(items, (i) => 1 - i.renewProbability);
  for (let s = 0; s < simulations; s++) {
    let lost = 0;
    for (let i = 0; i < arr.length; i++) if (random() < churn[i]!) lost += arr[i]!;
    totals[s] = lost;
  }
  return totals.sort();
}
