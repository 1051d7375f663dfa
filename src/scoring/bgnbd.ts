/**
 * BG/NBD ("beta-geometric / negative binomial distribution") model of repeat
 * purchasing, after Fader, Hardie & Lee (2005), "'Counting Your Customers'
 * the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science
 * 24(2):275–284.
 *
 * While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
 * after every purchase she drops out with probability p ~ Beta(a, b).
 * A customer is summarised by x (repeat purchases), t_x (time of the last
 * repeat purchase, measured from the first purchase) and T (time from the
 * first purchase to the end of the observation period). Any time unit works
 * as long as it is used consistently; the app and the papers use weeks.
 */
import { ScoringError } from './errors.js';
import { atLogParameterWall, lnBeta, lnGamma, minimizeRobust, withinLogParameterBox, type ObjectiveWithGradient } from './special.js';

export interface BgNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

/** One customer's calibration summary. `count` lets pre-aggregated rows (e.g. from SQL GROUP BY) stand for several customers. */
export interface BgNbdObservation {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly count?: number;
}

/**
 * Customers grouped by identical (x, t_x, T). The likelihood costs one term
 * per distinct pattern, and with day-granular data patterns repeat heavily.
 * The value tables (`TValues`, `txValues`) let the likelihood take each
 * distinct logarithm once per evaluation.
 */
export interface BgNbdPatterns {
  readonly kind: 'bgnbd-patterns';
  /** Total customers (sum of counts). */
  readonly customers: number;
  /** Number of distinct patterns. */
  readonly size: number;
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly count: Float64Array;
  readonly maxX: number;
  /** Σ count by x, index 0..maxX. */
  readonly countByX: Float64Array;
  readonly TValues: Float64Array;
  readonly TIndex: Int32Array;
  readonly txValues: Float64Array;
  readonly txIndex: Int32Array;
}

export interface BgNbdFit extends BgNbdParams {
  /** Total log-likelihood at the optimum (natural log, summed over customers). */
  readonly logLikelihood: number;
  readonly customers: number;
  /** Distinct (x, t_x, T) patterns the likelihood was evaluated over. */
  readonly patterns: number;
  readonly iterations: number;
  readonly converged: boolean;
}

export interface BgNbdFitOptions {
  /** Starting point; defaults to r = 1, α matched to the mean purchase rate, a = b = 1. */
  readonly start?: BgNbdParams;
  readonly maxIterations?: number;
}

const TOLERANCE = 1e-9;
/** Repeat purchase *days*: a million is ~2,700 years of daily orders. Bounds per-x tables. */
const MAX_REPEAT_PURCHASES = 1_000_000;

function invalid(message: string): ScoringError {
  return new ScoringError('SCORING_INVALID_OBSERVATION', message);
}

function checkObservation(o: BgNbdObservation, i: number): void {
  const { x, tx, T } = o;
  if (!Number.isInteger(x) || x < 0) {
    throw invalid(`customer #${i}: x must be a non-negative integer count of repeat purchases, got ${x}`);
  }
  if (x > MAX_REPEAT_PURCHASES) {
    throw invalid(`customer #${i}: x = ${x} repeat purchase days is implausible (limit ${MAX_REPEAT_PURCHASES}); check the data`);
  }
  if (!Number.isFinite(T) || T < 0) throw invalid(`customer #${i}: T must be a finite number ≥ 0, got ${T}`);
  if (!Number.isFinite(tx) || tx < 0 || tx > T + TOLERANCE) {
    throw invalid(`customer #${i}: t_x must lie in [0, T] (t_x = ${tx}, T = ${T})`);
  }
  if (x === 0 && tx > TOLERANCE) {
    throw invalid(`customer #${i}: t_x must be 0 when there are no repeat purchases (t_x = ${tx})`);
  }
  const c = o.count ?? 1;
  if (!Number.isFinite(c) || c <= 0) throw invalid(`customer #${i}: count must be positive, got ${c}`);
}

/**
 * Groups customers by identical (x, t_x, T). Validates every observation:
 * x a non-negative integer, 0 ≤ t_x ≤ T, t_x = 0 when x = 0.
 */
export function groupBgNbdObservations(observations: readonly BgNbdObservation[]): BgNbdPatterns {
  const TMap = new Map<number, number>();
  const txMap = new Map<number, number>();
  let maxX = 0;
  for (let i = 0; i < observations.length; i++) {
    const o = observations[i]!;
    checkObservation(o, i);
    if (!TMap.has(o.T)) TMap.set(o.T, TMap.size);
    const tx = o.x === 0 ? 0 : Math.min(o.tx, o.T);
    if (!txMap.has(tx)) txMap.set(tx, txMap.size);
    if (o.x > maxX) maxX = o.x;
  }
  const nT = TMap.size;
  const nTx = txMap.size;
  const numericKeys = (maxX + 1) * nTx * nT < Number.MAX_SAFE_INTEGER;
  const slot = new Map<number | string, number>();
  const px: number[] = [];
  const ptx: number[] = [];
  const pT: number[] = [];
  const pc: number[] = [];
  const pTi: number[] = [];
  const ptxi: number[] = [];
  let customers = 0;
  for (const o of observations) {
    const tx = o.x === 0 ? 0 : Math.min(o.tx, o.T);
    const Ti = TMap.get(o.T)!;
    const txi = txMap.get(tx)!;
    const key = numericKeys ? (o.x * nTx + txi) * nT + Ti : `${o.x}|${txi}|${Ti}`;
    const c = o.count ?? 1;
    customers += c;
    const at = slot.get(key);
    if (at === undefined) {
      slot.set(key, px.length);
      px.push(o.x);
      ptx.push(tx);
      pT.push(o.T);
      pc.push(c);
      pTi.push(Ti);
      ptxi.push(txi);
    } else {
      pc[at] = pc[at]! + c;
    }
  }
  const countByX = new Float64Array(maxX + 1);
  for (let i = 0; i < px.length; i++) countByX[px[i]!] = countByX[px[i]!]! + pc[i]!;
  const TValues = new Float64Array(nT);
  for (const [v, i] of TMap) TValues[i] = v;
  const txValues = new Float64Array(nTx);
  for (const [v, i] of txMap) txValues[i] = v;
  return {
    kind: 'bgnbd-patterns',
    customers,
    size: px.length,
    x: Float64Array.from(px),
    tx: Float64Array.from(ptx),
    T: Float64Array.from(pT),
    count: Float64Array.from(pc),
    maxX,
    countByX,
    TValues,
    TIndex: Int32Array.from(pTi),
    txValues,
    txIndex: Int32Array.from(ptxi),
  };
}

function asPatterns(input: readonly BgNbdObservation[] | BgNbdPatterns): BgNbdPatterns {
  return isPatterns(input) ? input : groupBgNbdObservations(input);
}

function isPatterns(input: readonly BgNbdObservation[] | BgNbdPatterns): input is BgNbdPatterns {
  return !Array.isArray(input) && (input as BgNbdPatterns).kind === 'bgnbd-patterns';
}

export function checkBgNbdParams(params: BgNbdParams): void {
  for (const key of ['r', 'alpha', 'a', 'b'] as const) {
    const v = params[key];
    if (!Number.isFinite(v) || v <= 0) {
      throw new ScoringError('SCORING_INVALID_PARAMETERS', `BG/NBD parameter ${key} must be a positive number, got ${v}`);
    }
  }
}

/**
 * Negative mean log-likelihood over log-parameters θ = (ln r, ln α, ln a, ln b),
 * with its analytic gradient. Per customer (FHL05a eq. 6):
 *
 *   ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
 *          + logaddexp( −(r+x) ln(α+T),
 *                       [x>0] (ln a − ln(b+x−1) − (r+x) ln(α+t_x)) )
 *
 * The x-only terms are running sums Σ_{k<x} ln(r+k) etc., accumulated once per
 * evaluation and weighted by the number of customers with each x.
 */
function makeObjective(P: BgNbdPatterns): ObjectiveWithGradient {
  const LT = new Float64Array(P.TValues.length);
  const dLT = new Float64Array(P.TValues.length);
  const Ltx = new Float64Array(P.txValues.length);
  const dLtx = new Float64Array(P.txValues.length);
  const lnBx1 = new Float64Array(P.maxX + 1);
  const invBx1 = new Float64Array(P.maxX + 1);
  const N = P.customers;
  return (theta, grad) => {
    if (!withinLogParameterBox(theta)) return Number.NaN;
    const r = Math.exp(theta[0]!);
    const alpha = Math.exp(theta[1]!);
    const a = Math.exp(theta[2]!);
    const b = Math.exp(theta[3]!);
    const lnAlpha = theta[1]!;
    const lnA = theta[2]!;
    for (let i = 0; i < LT.length; i++) {
      const v = alpha + P.TValues[i]!;
      LT[i] = Math.log(v);
      dLT[i] = 1 / v;
    }
    for (let i = 0; i < Ltx.length; i++) {
      const v = alpha + P.txValues[i]!;
      Ltx[i] = Math.log(v);
      dLtx[i] = 1 / v;
    }
    // x-only terms.
    let ll = N * r * lnAlpha;
    let gr = N * lnAlpha;
    const gAlpha0 = (N * r) / alpha;
    let ga = 0;
    let gb = 0;
    let s1 = 0; // Σ_{k<x} ln(r+k)
    let d1 = 0; // Σ_{k<x} 1/(r+k)
    let s2 = 0; // Σ_{k<x} ln(b+k) − ln(a+b+k)
    let da = 0; // Σ_{k<x} −1/(a+b+k)
    let db = 0; // Σ_{k<x} 1/(b+k) − 1/(a+b+k)
    for (let x = 0; x <= P.maxX; x++) {
      const n = P.countByX[x]!;
      if (n > 0) {
        ll += n * (s1 + s2);
        gr += n * d1;
        ga += n * da;
        gb += n * db;
      }
      if (x > 0) {
        lnBx1[x] = Math.log(b + x - 1);
        invBx1[x] = 1 / (b + x - 1);
      }
      const rk = r + x;
      const bk = b + x;
      const abk = a + b + x;
      s1 += Math.log(rk);
      d1 += 1 / rk;
      s2 += Math.log(bk) - Math.log(abk);
      da -= 1 / abk;
      db += 1 / bk - 1 / abk;
    }
    let gAlpha = gAlpha0;
    const X = P.x;
    const C = P.count;
    const TI = P.TIndex;
    const TXI = P.txIndex;
    for (let i = 0; i < P.size; i++) {
      const c = C[i]!;
      const x = X[i]!;
      const rx = r + x;
      const ti = TI[i]!;
      const A3 = -rx * LT[ti]!;
      if (x === 0) {
        ll += c * A3;
        gr -= c * LT[ti]!;
        gAlpha -= c * rx * dLT[ti]!;
        continue;
      }
      const xi = TXI[i]!;
      const A4 = lnA - lnBx1[x]! - rx * Ltx[xi]!;
      const d = A4 - A3;
      let lse: number;
      let w: number; // share of the "dropped out after t_x" term
      if (d > 0) {
        const e = Math.exp(-d);
        lse = A4 + Math.log1p(e);
        w = 1 / (1 + e);
      } else {
        const e = Math.exp(d);
        lse = A3 + Math.log1p(e);
        w = e / (1 + e);
      }
      const w0 = 1 - w;
      ll += c * lse;
      gr -= c * (w0 * LT[ti]! + w * Ltx[xi]!);
      gAlpha -= c * rx * (w0 * dLT[ti]! + w * dLtx[xi]!);
      ga += (c * w) / a;
      gb -= c * w * invBx1[x]!;
    }
    // Chain rule to log-parameters; negate and average.
    grad[0] = (-gr * r) / N;
    grad[1] = (-gAlpha * alpha) / N;
    grad[2] = (-ga * a) / N;
    grad[3] = (-gb * b) / N;
    return -ll / N;
  };
}

/** Total BG/NBD log-likelihood of the customers at the given parameters. */
export function bgnbdLogLikelihood(params: BgNbdParams, input: readonly BgNbdObservation[] | BgNbdPatterns): number {
  checkBgNbdParams(params);
  const P = asPatterns(input);
  if (P.customers === 0) return 0;
  const f = makeObjective(P);
  const theta = Float64Array.of(Math.log(params.r), Math.log(params.alpha), Math.log(params.a), Math.log(params.b));
  return -f(theta, new Float64Array(4)) * P.customers;
}

/**
 * Fits the BG/NBD model by maximum likelihood (BFGS with the analytic
 * gradient over log-parameters; Nelder–Mead with restarts as a fallback).
 */
export function fitBgNbd(input: readonly BgNbdObservation[] | BgNbdPatterns, options: BgNbdFitOptions = {}): BgNbdFit {
  const P = asPatterns(input);
  if (P.customers === 0) {
    throw new ScoringError('SCORING_EMPTY_INPUT', 'BG/NBD fit needs at least one customer');
  }
  const f = makeObjective(P);
  let start: number[];
  if (options.start) {
    checkBgNbdParams(options.start);
    start = [options.start.r, options.start.alpha, options.start.a, options.start.b].map(Math.log);
  } else {
    let sumX = 0;
    let sumT = 0;
    for (let i = 0; i < P.size; i++) {
      sumX += P.x[i]! * P.count[i]!;
      sumT += P.T[i]! * P.count[i]!;
    }
    const alpha0 = sumX > 0 && sumT > 0 ? sumT / sumX : 1;
    start = [0, Math.log(alpha0), 0, 0];
  }
  const maxIterations = options.maxIterations ?? 500;
  const result = minimizeRobust(f, start, maxIterations);
  const iterations = result.iterations;
  const [lr, la, laa, lb] = result.x as [number, number, number, number];
  return {
    r: Math.exp(lr),
    alpha: Math.exp(la),
    a: Math.exp(laa),
    b: Math.exp(lb),
    logLikelihood: -result.value * P.customers,
    customers: P.customers,
    patterns: P.size,
    iterations,
    converged: result.converged && !atLogParameterWall(result.x),
  };
}

function checkCustomer(x: number, tx: number, T: number): void {
  checkObservation({ x, tx, T }, 0);
}

/**
 * P(alive | x, t_x, T): the probability the customer has not dropped out.
 * Customers without repeat purchases are alive by the model's assumption
 * (dropout can only happen right after a purchase), so this is 1 for x = 0.
 */
export function bgnbdPAlive(params: BgNbdParams, x: number, tx: number, T: number): number {
  checkBgNbdParams(params);
  checkCustomer(x, tx, T);
  if (x === 0) return 1;
  const { r, alpha, a, b } = params;
  const odds = (a / (b + x - 1)) * Math.exp((r + x) * (Math.log(alpha + T) - Math.log(alpha + tx)));
  return 1 / (1 + odds);
}

/**
 * E[Y(t) | x, t_x, T]: expected repeat purchases in the next t (FHL05a eq. 10).
 *
 *   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} ₂F₁(r+x, b+x; a+b+x−1; z)] / D,
 *   z = t/(α+T+t),  D = 1 + [x>0] a/(b+x−1) · ((α+T)/(α+t_x))^{r+x}.
 *
 * Euler's transformation ₂F₁(A, B; C; z) = (1−z)^{C−A−B} ₂F₁(C−A, C−B; C; z)
 * turns the bracket into 1 − (1−z)^{a−1} ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose
 * series parameters do not grow with x (no overflow for heavy buyers). With
 * ε = a − 1 and ₂F₁(A, ε; C; z) = 1 + ε·G, the bracket divided by ε is
 * −expm1(ε ln(1−z))/ε − (1−z)^ε G, which stays exact as a → 1 (the 1/(a−1)
 * in the paper's form is only an apparent singularity).
 */
export function bgnbdExpectedRepeat(params: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  checkBgNbdParams(params);
  checkCustomer(x, tx, T);
  if (!Number.isFinite(t) || t < 0) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `horizon t must be a finite number ≥ 0, got ${t}`);
  }
  return expectedRepeatUnchecked(params, t, x, tx, T);
}

function expectedRepeatUnchecked(params: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  if (t === 0) return 0;
  const { r, alpha, a, b } = params;
  const lnAT = Math.log(alpha + T);
  const L = lnAT - Math.log(alpha + T + t); // ln(1 − z)
  const z = t / (alpha + T + t);
  const eps = a - 1;
  const A = a + b - 1 - r;
  const C = a + b + x - 1;
  // G = Σ_{n≥1} (A)_n (1+ε)_{n−1} / ((C)_n n!) z^n
  let term = (A / C) * z;
  let G = term;
  const settled = Math.max(0, -A, -eps, -C);
  for (let n = 1; n < 1_000_000; n++) {
    const ratio = (((A + n) * (eps + n)) / ((C + n) * (n + 1))) * z;
    term *= ratio;
    G += term;
    if (term === 0) break;
    if (n > settled && Math.abs(ratio) < 1 && Math.abs(term) <= 1e-17 * Math.abs(G)) break;
  }
  const epsL = eps * L;
  const head = eps === 0 ? -L : -Math.expm1(epsL) / eps;
  const bracketOverEps = head - Math.exp(epsL) * G;
  const numerator = (a + b + x - 1) * bracketOverEps;
  if (x === 0) return numerator;
  const D = 1 + (a / (b + x - 1)) * Math.exp((r + x) * (lnAT - Math.log(alpha + tx)));
  return numerator / D;
}

/** E[X(t)]: expected repeat purchases in the first t after a customer's first purchase (FHL05a eq. 7). */
export function bgnbdExpectedCount(params: BgNbdParams, t: number): number {
  checkBgNbdParams(params);
  if (!Number.isFinite(t) || t < 0) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `t must be a finite number ≥ 0, got ${t}`);
  }
  return expectedRepeatUnchecked(params, t, 0, 0, 0);
}

/**
 * P(X(t) = n): probability of exactly n repeat purchases in the first t after
 * the first purchase (FHL05a eq. 8). The negative-binomial tail P(NB ≥ n) is
 * summed directly when it is small, to avoid cancellation in 1 − head.
 */
export function bgnbdProbNumPurchases(params: BgNbdParams, t: number, n: number): number {
  checkBgNbdParams(params);
  if (!Number.isInteger(n) || n < 0) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `n must be a non-negative integer, got ${n}`);
  }
  if (!Number.isFinite(t) || t < 0) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `t must be a finite number ≥ 0, got ${t}`);
  }
  if (t === 0) return n === 0 ? 1 : 0;
  const { r, alpha, a, b } = params;
  const lnP = Math.log(alpha) - Math.log(alpha + t); // ln(α/(α+t))
  const lnQ = Math.log(t) - Math.log(alpha + t); // ln(t/(α+t))
  const lnBab = lnBeta(a, b);
  const lnNb = (j: number): number => lnGamma(r + j) - lnGamma(r) - lnGamma(j + 1) + r * lnP + j * lnQ;
  let p = Math.exp(lnBeta(a, b + n) - lnBab + lnNb(n));
  if (n === 0) return p;
  const q = Math.exp(lnQ);
  // Head Σ_{j<n} NB(j) by recurrence.
  let f = Math.exp(r * lnP);
  let headSum = 0;
  for (let j = 0; j < n; j++) {
    headSum += f;
    f *= ((r + j) / (j + 1)) * q;
  }
  let tail: number;
  if (headSum <= 0.5) {
    tail = 1 - headSum;
  } else {
    let g = Math.exp(lnNb(n));
    tail = 0;
    for (let j = n; j < n + 1_000_000; j++) {
      tail += g;
      const ratio = ((r + j) / (j + 1)) * q;
      g *= ratio;
      if (g === 0 || (ratio < 1 && g <= 1e-17 * tail)) break;
    }
  }
  p += Math.exp(lnBeta(a + 1, b + n - 1) - lnBab) * tail;
  return p;
}
