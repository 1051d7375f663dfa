/**
 * Contractual retention: how long subscribers keep renewing.
 *
 * Shifted-beta-geometric (sBG) model, after Fader & Hardie (2007), "How to
 * Project Customer Retention", Journal of Interactive Marketing 21(1): each
 * customer renews at the end of every contract period until she cancels, with
 * her own churn probability θ per period, θ ~ Beta(α, β) across customers.
 * Churners leave early, so the surviving cohort is ever more loyal and the
 * retention rate rises with tenure — which a single average churn rate misses.
 *
 * Beta-discrete-Weibull (BdW), after Fader, Hardie, Liu, Davin & Steenburgh
 * (2018), "How to Project Customer Retention" Revisited, J. Interactive
 * Marketing 43: each customer's own churn hazard may also change with tenure,
 * with shape c (c < 1 falling, c > 1 rising). S(t) = B(α, β + t^c) / B(α, β);
 * c = 1 is the sBG.
 *
 * Periods are counted from 1. T is the period in which a customer churns:
 * - P(T = t) = S(t − 1) − S(t)   (sBG: B(α + 1, β + t − 1) / B(α, β));
 * - S(t) = P(T > t), the share still active after t completed periods;
 * - r(t) = S(t) / S(t − 1), the share of those active in period t who renew
 *   at its end (sBG: (β + t − 1) / (α + β + t − 1)).
 *
 * Everything is computed on the log scale through ln B (via ln Γ), so it stays
 * exact for long tenures and extreme parameters. Pure: no I/O, no clock.
 */
import { ScoringError } from './errors.js';
import { atLogParameterWall, hyp2f1, lnBeta, minimizeRobust, withinLogParameterBox, withNumericGradient } from './special.js';

export interface RetentionParams {
  readonly alpha: number;
  readonly beta: number;
  /** BdW shape; absent or 1 is the sBG. */
  readonly c?: number;
}

/**
 * One customer (or `count` identical customers) observed under a contract:
 * - churned: she churned in period `periods` (≥ 1) — contributes P(T = periods);
 * - active: she has completed `periods` (≥ 0) periods and is still a customer
 *   (right-censored) — contributes S(periods).
 * Customers may have started at different times; only their own tenure counts.
 */
export interface ContractObservation {
  readonly periods: number;
  readonly churned: boolean;
  readonly count?: number;
}

/** Observations aggregated by tenure: what the likelihood needs, one term per distinct period. */
export interface RetentionData {
  readonly kind: 'retention-data';
  /** churnedIn[t]: customers who churned in period t (index 0 is always 0). */
  readonly churnedIn: Float64Array;
  /** activeAfter[n]: customers still active having completed n periods. */
  readonly activeAfter: Float64Array;
  readonly customers: number;
  readonly churned: number;
}

export interface RetentionFit extends Required<RetentionParams> {
  /** Natural-log likelihood at the optimum, summed over customers. */
  readonly logLikelihood: number;
  readonly customers: number;
  readonly churned: number;
  readonly iterations: number;
  /** False when the optimizer stalled, a parameter ran to the edge, or the data cannot identify the model (see `problem`). */
  readonly converged: boolean;
  /**
   * Data with no finite maximum-likelihood estimate, in words for the person
   * who asked for the fit; null when the data are informative. (α and β both
   * very large is a legitimate answer: churn the same for everyone.)
   */
  readonly problem: string | null;
}

export interface RetentionFitOptions {
  readonly start?: RetentionParams;
  readonly maxIterations?: number;
}

export interface BdwFitOptions extends RetentionFitOptions {
  /** Hold c at this value and fit only α, β (c = 1 gives the sBG fit). */
  readonly fixedC?: number;
}

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

function invalidObservation(message: string): ScoringError {
  return new ScoringError('SCORING_INVALID_OBSERVATION', message);
}

/** Periods beyond this are implausible for contract years or months (a millennium of months). */
const MAX_PERIODS = 12_000;

/**
 * Aggregates individual customers into counts per tenure. A churned customer
 * needs periods ≥ 1 (nobody churns before their first period), an active one
 * periods ≥ 0; both whole numbers.
 */
export function retentionDataFromObservations(observations: readonly ContractObservation[]): RetentionData {
  let maxPeriod = 0;
  for (let i = 0; i < observations.length; i++) {
    const o = observations[i]!;
    const c = o.count ?? 1;
    if (!Number.isInteger(o.periods) || o.periods < (o.churned ? 1 : 0) || o.periods > MAX_PERIODS) {
      throw invalidObservation(
        `customer #${i}: periods must be a whole number ${o.churned ? '≥ 1 for a churned customer' : '≥ 0 for an active customer'} (at most ${MAX_PERIODS}), got ${o.periods}`,
      );
    }
    if (!Number.isFinite(c) || c < 0) throw invalidObservation(`customer #${i}: count must be ≥ 0, got ${c}`);
    if (o.periods > maxPeriod) maxPeriod = o.periods;
  }
  const churnedIn = new Float64Array(maxPeriod + 1);
  const activeAfter = new Float64Array(maxPeriod + 1);
  let customers = 0;
  let churned = 0;
  for (const o of observations) {
    const c = o.count ?? 1;
    customers += c;
    if (o.churned) {
      churnedIn[o.periods] = churnedIn[o.periods]! + c;
      churned += c;
    } else {
      activeAfter[o.periods] = activeAfter[o.periods]! + c;
    }
  }
  return { kind: 'retention-data', churnedIn, activeAfter, customers, churned };
}

/**
 * A single cohort given as the number of customers active at the start of
 * each period: activeAtStart[0] started, activeAtStart[t] were still active
 * after t completed periods. Those lost between t − 1 and t churned in
 * period t; the last count is still active (censored).
 */
export function retentionDataFromCohort(activeAtStart: readonly number[]): RetentionData {
  if (activeAtStart.length === 0) throw invalidObservation('a cohort needs at least its starting count');
  const observations: ContractObservation[] = [];
  for (let t = 0; t < activeAtStart.length; t++) {
    const n = activeAtStart[t]!;
    if (!Number.isFinite(n) || n < 0) throw invalidObservation(`period ${t}: active count must be ≥ 0, got ${n}`);
    if (t > 0) {
      const lost = activeAtStart[t - 1]! - n;
      if (lost < 0) {
        throw invalidObservation(`period ${t}: ${n} active is more than the ${activeAtStart[t - 1]} of the period before; a cohort can only shrink`);
      }
      if (lost > 0) observations.push({ periods: t, churned: true, count: lost });
    }
  }
  const last = activeAtStart[activeAtStart.length - 1]!;
  if (last > 0) observations.push({ periods: activeAtStart.length - 1, churned: false, count: last });
  return retentionDataFromObservations(observations);
}

// ---------------------------------------------------------------------------
// Contract periods from dates
// ---------------------------------------------------------------------------

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function toDate(value: Date | string, what: string): Date {
  let ms: number;
  if (typeof value === 'string') {
    const m = ISO_DAY.exec(value);
    ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Date.parse(value);
  } else {
    ms = value.getTime();
  }
  if (!Number.isFinite(ms)) throw new ScoringError('SCORING_INVALID_ARGUMENT', `${what} is not a valid date: ${String(value)}`);
  return new Date(ms);
}

/**
 * The k-th anniversary of a start (k whole years later, same UTC month, day
 * and time of day). A start on 29 February has its anniversaries on
 * 28 February in common years: the contract year must not run into March.
 */
export function contractAnniversary(startedAt: Date | string, k: number): Date {
  if (!Number.isInteger(k)) throw new ScoringError('SCORING_INVALID_ARGUMENT', `k must be a whole number of years, got ${k}`);
  const s = toDate(startedAt, 'started_at');
  return anniversaryOf(s, k);
}

function anniversaryOf(s: Date, k: number): Date {
  const year = s.getUTCFullYear() + k;
  const month = s.getUTCMonth();
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(s.getUTCDate(), lastDay);
  const d = new Date(Date.UTC(year, month, day, s.getUTCHours(), s.getUTCMinutes(), s.getUTCSeconds(), s.getUTCMilliseconds()));
  // Date.UTC maps years 0–99 to 1900–1999; set the year explicitly.
  d.setUTCFullYear(year, month, day);
  return d;
}

/** Whole contract years completed at `at`: the number of anniversaries on or before it (0 before the first). */
export function completedContractYears(startedAt: Date | string, at: Date | string): number {
  const s = toDate(startedAt, 'started_at');
  const a = toDate(at, 'date');
  return completedYears(s, a);
}

function completedYears(s: Date, a: Date): number {
  if (a.getTime() < s.getTime()) return 0;
  let k = a.getUTCFullYear() - s.getUTCFullYear();
  while (k > 0 && anniversaryOf(s, k).getTime() > a.getTime()) k--;
  while (anniversaryOf(s, k + 1).getTime() <= a.getTime()) k++;
  return k;
}

/**
 * A customer's contract observation as of a date, with yearly periods counted
 * by anniversaries of `startedAt`:
 * - churned at C (on or before as-of): churned in period ⌈(C − start) / 1 year⌉,
 *   i.e. the contract year that C falls in; a churn exactly on an anniversary
 *   ends the year that just completed (no renewal), and a churn on the start
 *   itself counts as period 1 (cancelled during the first year);
 * - otherwise (no churn, or a churn dated after as-of): active, with
 *   ⌊(as-of − start) / 1 year⌋ completed periods.
 * Null when the contract starts after as-of (nothing observed yet).
 */
export function contractObservation(startedAt: Date | string, churnedAt: Date | string | null, asOf: Date | string): ContractObservation | null {
  const s = toDate(startedAt, 'started_at');
  const a = toDate(asOf, 'as-of');
  if (s.getTime() > a.getTime()) return null;
  if (churnedAt !== null) {
    const c = toDate(churnedAt, 'churned_at');
    if (c.getTime() < s.getTime()) {
      throw invalidObservation(`churned_at ${c.toISOString()} is before started_at ${s.toISOString()}`);
    }
    if (c.getTime() <= a.getTime()) {
      const k = completedYears(s, c);
      const onAnniversary = k > 0 && anniversaryOf(s, k).getTime() === c.getTime();
      return { periods: onAnniversary ? k : k + 1, churned: true };
    }
  }
  return { periods: completedYears(s, a), churned: false };
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

export function checkRetentionParams(params: RetentionParams): void {
  for (const key of ['alpha', 'beta'] as const) {
    const v = params[key];
    if (!Number.isFinite(v) || v <= 0) {
      throw new ScoringError('SCORING_INVALID_PARAMETERS', `retention parameter ${key} must be a positive number, got ${v}`);
    }
  }
  const c = params.c ?? 1;
  if (!Number.isFinite(c) || c <= 0) {
    throw new ScoringError('SCORING_INVALID_PARAMETERS', `BdW shape c must be a positive number, got ${c}`);
  }
}

function checkPeriod(t: number, min: number): void {
  if (!Number.isInteger(t) || t < min) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `period must be a whole number ≥ ${min}, got ${t}`);
  }
}

/** ln S(t) = ln B(α, β + t^c) − ln B(α, β). */
function lnSurvival(alpha: number, beta: number, c: number, lnB0: number, t: number): number {
  if (t === 0) return 0;
  return lnBeta(alpha, beta + (c === 1 ? t : t ** c)) - lnB0;
}

/** ln P(T = t), t ≥ 1. */
function lnChurnAt(alpha: number, beta: number, c: number, lnB0: number, t: number): number {
  if (c === 1) return lnBeta(alpha + 1, beta + t - 1) - lnB0;
  const prev = lnSurvival(alpha, beta, c, lnB0, t - 1);
  const cur = lnSurvival(alpha, beta, c, lnB0, t);
  // ln(S(t−1) − S(t)) = ln S(t−1) + ln(1 − e^{ln S(t) − ln S(t−1)}), exact for tiny differences.
  return prev + Math.log(-Math.expm1(cur - prev));
}

/** S(t): the share of a starting cohort still active after t completed periods. */
export function retentionSurvival(params: RetentionParams, t: number): number {
  checkRetentionParams(params);
  checkPeriod(t, 0);
  const { alpha, beta } = params;
  return Math.exp(lnSurvival(alpha, beta, params.c ?? 1, lnBeta(alpha, beta), t));
}

/** P(T = t): the probability a new customer churns in period t (t ≥ 1). */
export function retentionChurnProbability(params: RetentionParams, t: number): number {
  checkRetentionParams(params);
  checkPeriod(t, 1);
  const { alpha, beta } = params;
  return Math.exp(lnChurnAt(alpha, beta, params.c ?? 1, lnBeta(alpha, beta), t));
}

/**
 * r(t) = S(t) / S(t − 1): of the customers active in period t, the share who
 * renew at its end (t ≥ 1). For the sBG, (β + t − 1) / (α + β + t − 1).
 */
export function retentionRate(params: RetentionParams, t: number): number {
  checkRetentionParams(params);
  checkPeriod(t, 1);
  return retentionRateUnchecked(params, t);
}

function retentionRateUnchecked(params: RetentionParams, t: number): number {
  const { alpha, beta } = params;
  const c = params.c ?? 1;
  if (c === 1) return (beta + t - 1) / (alpha + beta + t - 1);
  const lnB0 = lnBeta(alpha, beta);
  return Math.exp(lnSurvival(alpha, beta, c, lnB0, t) - lnSurvival(alpha, beta, c, lnB0, t - 1));
}

export interface RetentionProjectionRow {
  readonly period: number;
  /** S(t), or S(t | T > given) when projecting for customers who already completed `given` periods. */
  readonly survival: number;
  /** r(t). */
  readonly retentionRate: number;
}

/**
 * S(t) and r(t) for t = from..to. With `givenCompleted` = n, survival is for
 * customers who have already completed n periods: S(t) / S(n) for t ≥ n.
 */
export function retentionProjection(params: RetentionParams, from: number, to: number, givenCompleted = 0): RetentionProjectionRow[] {
  checkRetentionParams(params);
  checkPeriod(from, 1);
  checkPeriod(to, from);
  checkPeriod(givenCompleted, 0);
  if (from <= givenCompleted) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `projection must start after the ${givenCompleted} completed periods, got from = ${from}`);
  }
  const { alpha, beta } = params;
  const c = params.c ?? 1;
  const lnB0 = lnBeta(alpha, beta);
  const lnGiven = lnSurvival(alpha, beta, c, lnB0, givenCompleted);
  const rows: RetentionProjectionRow[] = [];
  for (let t = from; t <= to; t++) {
    rows.push({
      period: t,
      survival: Math.exp(lnSurvival(alpha, beta, c, lnB0, t) - lnGiven),
      retentionRate: retentionRateUnchecked(params, t),
    });
  }
  return rows;
}

/**
 * Discounted expected residual lifetime of a customer who has completed n
 * periods and is still active (Fader & Hardie 2010, "Customer-Base Valuation
 * in a Contractual Setting: The Perils of Ignoring Heterogeneity", Marketing
 * Science 29(1)): the expected number of further renewals, each discounted by
 * (1 + d) per period, the first one undiscounted,
 *
 *   DERL(d | n) = Σ_{k≥0} S(n + 1 + k) / S(n) / (1 + d)^k.
 *
 * For the sBG this is (β + n)/(α + β + n) · ₂F₁(1, β + n + 1; α + β + n + 1; 1/(1 + d)),
 * summed as a power series whose terms shrink at least geometrically by
 * 1/(1 + d). Multiply by the payment per period for a residual value.
 * d must be positive: undiscounted lifetimes are infinite when α ≤ 1.
 */
export function retentionDerl(params: RetentionParams, discountRate: number, completedPeriods: number): number {
  checkRetentionParams(params);
  checkPeriod(completedPeriods, 0);
  if (!Number.isFinite(discountRate) || discountRate <= 0) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `discount rate must be a positive number per period, got ${discountRate}`);
  }
  const { alpha, beta } = params;
  const c = params.c ?? 1;
  const n = completedPeriods;
  const z = 1 / (1 + discountRate);
  if (c === 1) {
    return ((beta + n) / (alpha + beta + n)) * hyp2f1(1, beta + n + 1, alpha + beta + n + 1, z);
  }
  const lnB0 = lnBeta(alpha, beta);
  const lnSn = lnSurvival(alpha, beta, c, lnB0, n);
  const lnZ = Math.log(z);
  let sum = 0;
  // Each term is at most z times the one before (survival only falls).
  for (let k = 0; k < 10_000_000; k++) {
    const term = Math.exp(lnSurvival(alpha, beta, c, lnB0, n + 1 + k) - lnSn + k * lnZ);
    sum += term;
    if (term <= 1e-16 * sum * (1 - z)) break;
  }
  return sum;
}

// ---------------------------------------------------------------------------
// Likelihood and fitting
// ---------------------------------------------------------------------------

function asData(input: RetentionData | readonly ContractObservation[]): RetentionData {
  return !Array.isArray(input) && (input as RetentionData).kind === 'retention-data'
    ? (input as RetentionData)
    : retentionDataFromObservations(input as readonly ContractObservation[]);
}

function logLikelihoodAt(alpha: number, beta: number, c: number, data: RetentionData): number {
  const lnB0 = lnBeta(alpha, beta);
  let ll = 0;
  for (let t = 1; t < data.churnedIn.length; t++) {
    const n = data.churnedIn[t]!;
    if (n > 0) ll += n * lnChurnAt(alpha, beta, c, lnB0, t);
  }
  for (let t = 1; t < data.activeAfter.length; t++) {
    const n = data.activeAfter[t]!;
    if (n > 0) ll += n * lnSurvival(alpha, beta, c, lnB0, t);
  }
  return ll;
}

/**
 * Σ churned in t · ln P(T = t) + Σ active after n · ln S(n): the total
 * log-likelihood (natural log) of the customers at the given parameters.
 */
export function retentionLogLikelihood(params: RetentionParams, input: RetentionData | readonly ContractObservation[]): number {
  checkRetentionParams(params);
  return logLikelihoodAt(params.alpha, params.beta, params.c ?? 1, asData(input));
}

/** Maximum-likelihood sBG fit (BdW with c = 1). */
export function fitSbg(input: RetentionData | readonly ContractObservation[], options: RetentionFitOptions = {}): RetentionFit {
  return fitBdw(input, { ...options, fixedC: 1 });
}

/**
 * Maximum-likelihood BdW fit of (α, β, c), or of (α, β) with c held fixed.
 * Optimised over log-parameters (positivity for free) by BFGS with central
 * difference gradients — the likelihood has one term per distinct tenure, so
 * this is cheap — falling back to Nelder–Mead as the other models do.
 */
export function fitBdw(input: RetentionData | readonly ContractObservation[], options: BdwFitOptions = {}): RetentionFit {
  const data = asData(input);
  if (data.customers === 0) throw new ScoringError('SCORING_EMPTY_INPUT', 'a retention fit needs at least one customer');
  const fixedC = options.fixedC;
  if (fixedC !== undefined && !(Number.isFinite(fixedC) && fixedC > 0)) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `fixedC must be a positive number, got ${fixedC}`);
  }
  if (options.start) checkRetentionParams(options.start);
  const start = options.start ?? { alpha: 1, beta: 1, c: 1 };
  const theta0 = [Math.log(start.alpha), Math.log(start.beta)];
  if (fixedC === undefined) theta0.push(Math.log(start.c ?? 1));
  const N = data.customers;
  const objective = (theta: Float64Array): number => {
    if (!withinLogParameterBox(theta)) return Number.NaN;
    const c = fixedC ?? Math.exp(theta[2]!);
    const ll = logLikelihoodAt(Math.exp(theta[0]!), Math.exp(theta[1]!), c, data);
    return Number.isFinite(ll) ? -ll / N : Number.NaN;
  };
  const result = minimizeRobust(withNumericGradient(objective), theta0, options.maxIterations ?? 500);
  const alpha = Math.exp(result.x[0]!);
  const beta = Math.exp(result.x[1]!);
  const c = fixedC ?? Math.exp(result.x[2]!);
  const problem = dataProblem(data);
  return {
    alpha,
    beta,
    c,
    logLikelihood: logLikelihoodAt(alpha, beta, c, data),
    customers: N,
    churned: data.churned,
    iterations: result.iterations,
    converged: problem === null && result.converged && !atLogParameterWall(result.x),
    problem,
  };
}

/**
 * The likelihood keeps rising towards an edge when nobody churned (churn → 0)
 * or nobody ever renewed (churn → 1): the optimizer then stops somewhere flat
 * and its numbers mean nothing.
 */
function dataProblem(data: RetentionData): string | null {
  if (data.churned === 0) return `no churn among ${formatCount(data.customers)} customers: the churn rate cannot be estimated yet`;
  let renewed = 0;
  for (let t = 2; t < data.churnedIn.length; t++) renewed += data.churnedIn[t]!;
  for (let t = 1; t < data.activeAfter.length; t++) renewed += data.activeAfter[t]!;
  if (renewed === 0) return `none of ${formatCount(data.customers)} customers has renewed yet: retention cannot be estimated`;
  return null;
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
