/**
 * Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and
 * CLV: Using Iso-Value Curves for Customer Base Analysis", JMR 42(4); Fader &
 * Hardie 2013, note 025), and customer lifetime value from BG/NBD × Gamma-Gamma.
 *
 * Each purchase value z ~ Gamma(p, ν), the customer's scale ν ~ Gamma(q, γ).
 * The observed mean m of x purchases then has density
 *
 *   f(m | x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · x^{px} · m^{px−1} / (γ + x·m)^{px+q}.
 *
 * Fitted only on customers with x > 0 and m > 0 (a mean of 0 has zero density).
 */
import type { BgNbdParams } from './bgnbd.js';
import { bgnbdExpectedRepeat, checkBgNbdParams } from './bgnbd.js';
import { ScoringError } from './errors.js';
import { atLogParameterWall, digamma, lnGamma, minimizeRobust, withinLogParameterBox, type ObjectiveWithGradient } from './special.js';

export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly gamma: number;
}

export interface SpendObservation {
  /** Repeat purchases (purchase days) the mean is taken over. */
  readonly x: number;
  /** Mean value per repeat purchase. */
  readonly mean: number;
  readonly count?: number;
}

export interface GammaGammaFit extends GammaGammaParams {
  readonly logLikelihood: number;
  /** Customers the model was fitted on (x > 0 and mean > 0). */
  readonly customers: number;
  /** Rows left out because x = 0 or mean ≤ 0. */
  readonly skipped: number;
  readonly iterations: number;
  readonly converged: boolean;
}

interface SpendPatterns {
  readonly customers: number;
  readonly skipped: number;
  /** Distinct x values, and per x: customers and Σ ln m over them. */
  readonly xs: Float64Array;
  readonly countByX: Float64Array;
  readonly sumLnMByX: Float64Array;
  /** Per (x, m) pattern: x, m, count. */
  readonly x: Float64Array;
  readonly m: Float64Array;
  readonly count: Float64Array;
}

function groupSpend(rows: readonly SpendObservation[]): SpendPatterns {
  const slot = new Map<string, number>();
  const px: number[] = [];
  const pm: number[] = [];
  const pc: number[] = [];
  const byX = new Map<number, { count: number; sumLnM: number }>();
  let customers = 0;
  let skipped = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const c = row.count ?? 1;
    if (!Number.isInteger(row.x) || row.x < 0 || !Number.isFinite(row.mean) || !(c > 0)) {
      throw new ScoringError(
        'SCORING_INVALID_OBSERVATION',
        `row #${i}: x must be a non-negative integer, mean finite and count positive (x = ${row.x}, mean = ${row.mean}, count = ${c})`,
      );
    }
    if (row.x === 0 || row.mean <= 0) {
      skipped += c;
      continue;
    }
    customers += c;
    const key = `${row.x}|${row.mean}`;
    const at = slot.get(key);
    if (at === undefined) {
      slot.set(key, px.length);
      px.push(row.x);
      pm.push(row.mean);
      pc.push(c);
    } else {
      pc[at] = pc[at]! + c;
    }
    const agg = byX.get(row.x) ?? { count: 0, sumLnM: 0 };
    agg.count += c;
    agg.sumLnM += c * Math.log(row.mean);
    byX.set(row.x, agg);
  }
  const xs = [...byX.keys()];
  return {
    customers,
    skipped,
    xs: Float64Array.from(xs),
    countByX: Float64Array.from(xs, (x) => byX.get(x)!.count),
    sumLnMByX: Float64Array.from(xs, (x) => byX.get(x)!.sumLnM),
    x: Float64Array.from(px),
    m: Float64Array.from(pm),
    count: Float64Array.from(pc),
  };
}

/** Negative mean log-likelihood over (ln p, ln q, ln γ) with its analytic gradient. */
function makeObjective(S: SpendPatterns): ObjectiveWithGradient {
  const N = S.customers;
  return (theta, grad) => {
    if (!withinLogParameterBox(theta)) return Number.NaN;
    const p = Math.exp(theta[0]!);
    const q = Math.exp(theta[1]!);
    const gamma = Math.exp(theta[2]!);
    const lnGammaQ = lnGamma(q);
    const psiQ = digamma(q);
    const lnG = theta[2]!;
    let ll = N * (q * lnG - lnGammaQ);
    let gp = 0;
    let gq = N * (lnG - psiQ);
    let gg = (N * q) / gamma;
    for (let i = 0; i < S.xs.length; i++) {
      const x = S.xs[i]!;
      const n = S.countByX[i]!;
      const slm = S.sumLnMByX[i]!;
      const px = p * x;
      const lnX = Math.log(x);
      ll += n * (lnGamma(px + q) - lnGamma(px) + px * lnX) + (px - 1) * slm;
      const psiPxq = digamma(px + q);
      gp += n * x * (psiPxq - digamma(px) + lnX) + x * slm;
      gq += n * psiPxq;
    }
    for (let i = 0; i < S.x.length; i++) {
      const x = S.x[i]!;
      const c = S.count[i]!;
      const v = gamma + x * S.m[i]!;
      const lnV = Math.log(v);
      const pxq = p * x + q;
      ll -= c * pxq * lnV;
      gp -= c * x * lnV;
      gq -= c * lnV;
      gg -= (c * pxq) / v;
    }
    grad[0] = (-gp * p) / N;
    grad[1] = (-gq * q) / N;
    grad[2] = (-gg * gamma) / N;
    return -ll / N;
  };
}

function checkParams(params: GammaGammaParams): void {
  for (const key of ['p', 'q', 'gamma'] as const) {
    const v = params[key];
    if (!Number.isFinite(v) || v <= 0) {
      throw new ScoringError('SCORING_INVALID_PARAMETERS', `Gamma-Gamma parameter ${key} must be a positive number, got ${v}`);
    }
  }
}

/** Total Gamma-Gamma log-likelihood of the rows with x > 0 and mean > 0. */
export function gammaGammaLogLikelihood(params: GammaGammaParams, rows: readonly SpendObservation[]): number {
  checkParams(params);
  const S = groupSpend(rows);
  if (S.customers === 0) return 0;
  const f = makeObjective(S);
  return -f(Float64Array.of(Math.log(params.p), Math.log(params.q), Math.log(params.gamma)), new Float64Array(3)) * S.customers;
}

/** Fits p, q, γ by maximum likelihood on the rows with x > 0 and mean > 0. */
export function fitGammaGamma(rows: readonly SpendObservation[], options: { start?: GammaGammaParams; maxIterations?: number } = {}): GammaGammaFit {
  const S = groupSpend(rows);
  if (S.customers === 0) {
    throw new ScoringError('SCORING_EMPTY_INPUT', 'Gamma-Gamma fit needs at least one customer with repeat purchases and a positive mean spend');
  }
  const f = makeObjective(S);
  let start: number[];
  if (options.start) {
    checkParams(options.start);
    start = [options.start.p, options.start.q, options.start.gamma].map(Math.log);
  } else {
    // p = q = 2 and γ so that the population mean γp/(q−1) equals the sample mean.
    let sum = 0;
    for (let i = 0; i < S.m.length; i++) sum += S.m[i]! * S.count[i]!;
    start = [Math.log(2), Math.log(2), Math.log(sum / S.customers / 2)];
  }
  const maxIterations = options.maxIterations ?? 500;
  const result = minimizeRobust(f, start, maxIterations);
  const iterations = result.iterations;
  const [lp, lq, lg] = result.x as [number, number, number];
  return {
    p: Math.exp(lp),
    q: Math.exp(lq),
    gamma: Math.exp(lg),
    logLikelihood: -result.value * S.customers,
    customers: S.customers,
    skipped: S.skipped,
    iterations,
    converged: result.converged && !atLogParameterWall(result.x),
  };
}

/**
 * E[M | x, m]: expected value of the customer's next purchases,
 * p(γ + x·m) / (px + q − 1) — a weighted average of the population mean
 * γp/(q − 1) and the customer's own mean m. With x = 0 it is the population mean.
 */
export function conditionalExpectedOrderValue(params: GammaGammaParams, x: number, mean: number): number {
  checkParams(params);
  if (!Number.isInteger(x) || x < 0 || !Number.isFinite(mean)) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `x must be a non-negative integer and mean finite (x = ${x}, mean = ${mean})`);
  }
  const { p, q, gamma } = params;
  const m = x === 0 ? 0 : mean;
  const denominator = p * x + q - 1;
  if (!(denominator > 0)) {
    throw new ScoringError(
      'SCORING_INVALID_PARAMETERS',
      `expected order value is infinite when p·x + q ≤ 1 (p = ${p}, q = ${q}, x = ${x}); refit with more repeat customers`,
    );
  }
  return (p * (gamma + x * m)) / denominator;
}

export const WEEKS_PER_YEAR = 365.25 / 7;

export interface ClvInput {
  readonly bgnbd: BgNbdParams;
  readonly gg: GammaGammaParams;
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  /** Mean value per repeat purchase (0 if x = 0). */
  readonly mean: number;
  readonly horizonWeeks: number;
  /** Annual discount rate, e.g. 0.1 for 10% a year. */
  readonly annualDiscountRate: number;
  /** Length of one discounting period in weeks. Default one month (52.18 / 12). */
  readonly periodWeeks?: number;
  /** Share of revenue that is margin. Default 1 (CLV in revenue). */
  readonly margin?: number;
}

export interface ClvPeriod {
  readonly endWeeks: number;
  readonly expectedPurchases: number;
  readonly discountFactor: number;
  readonly value: number;
}

export interface ClvResult {
  readonly clv: number;
  /** Undiscounted E[Y(horizon) | x, t_x, T]. */
  readonly expectedPurchases: number;
  readonly expectedOrderValue: number;
  readonly periods: readonly ClvPeriod[];
}

/**
 * Customer lifetime value over a finite horizon, in discrete periods:
 *
 *   CLV = margin · E[M | x, m] · Σ_k ( E[Y(t_k)] − E[Y(t_{k−1})] ) · (1 + d)^{−t_k / 52.18}
 *
 * with t_k = min(k · period, horizon), E[Y(·)] the BG/NBD conditional expected
 * repeat purchases given (x, t_x, T), E[M] the Gamma-Gamma expected order value
 * and d the annual discount rate. Each period's purchases are discounted from
 * the period's end (the conservative convention lifetimes also uses). Spend
 * and purchase counts are treated as independent, as the Gamma-Gamma model
 * assumes. BG/NBD parameters and t_x, T must be in weeks.
 */
export function customerLifetimeValue(input: ClvInput): ClvResult {
  checkBgNbdParams(input.bgnbd);
  const { horizonWeeks, annualDiscountRate } = input;
  const periodWeeks = input.periodWeeks ?? WEEKS_PER_YEAR / 12;
  const margin = input.margin ?? 1;
  if (!Number.isFinite(horizonWeeks) || horizonWeeks < 0) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `horizonWeeks must be ≥ 0, got ${horizonWeeks}`);
  }
  if (!(periodWeeks > 0) || !Number.isFinite(periodWeeks)) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `periodWeeks must be positive, got ${periodWeeks}`);
  }
  if (!Number.isFinite(annualDiscountRate) || annualDiscountRate <= -1) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `annualDiscountRate must be > −1, got ${annualDiscountRate}`);
  }
  const expectedOrderValue = conditionalExpectedOrderValue(input.gg, input.x, input.mean);
  const periods: ClvPeriod[] = [];
  let previous = 0;
  let clv = 0;
  const steps = Math.ceil(horizonWeeks / periodWeeks - 1e-9);
  for (let k = 1; k <= steps; k++) {
    const endWeeks = Math.min(k * periodWeeks, horizonWeeks);
    const cumulative = bgnbdExpectedRepeat(input.bgnbd, endWeeks, input.x, input.tx, input.T);
    const expectedPurchases = cumulative - previous;
    previous = cumulative;
    const discountFactor = (1 + annualDiscountRate) ** (-endWeeks / WEEKS_PER_YEAR);
    const value = margin * expectedOrderValue * expectedPurchases * discountFactor;
    clv += value;
    periods.push({ endWeeks, expectedPurchases, discountFactor, value });
  }
  return { clv, expectedPurchases: previous, expectedOrderValue, periods };
}
