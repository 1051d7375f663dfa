/**
 * L2-regularised logistic regression for churn: which measures predicted the
 * accounts that churned, and by how much — fitted on a team's own outcomes.
 *
 * Features are standardised (weighted mean 0, standard deviation 1) before
 * fitting, so one penalty treats measures on different scales (usage %,
 * days since a touch, NPS points) alike; the intercept is not penalised, so
 * a strong penalty shrinks the model towards the base rate, never away from
 * it. Fitted by Newton–Raphson (IRLS) with step halving, minimising
 *
 *   mean weighted log-loss + (λ / 2) · Σ_j β_j²   (β on the standardised scale).
 *
 * Coefficients are reported back in original units: a coefficient of 0.6 on
 * "complaints in 90 days" means each complaint multiplies the odds of churn by
 * e^0.6 ≈ 1.8. Pure: no I/O, no clock.
 */
import { ScoringError } from './errors.js';
import { sigmoid } from './stats.js';

export interface LogisticModel {
  readonly featureNames: readonly string[];
  /** Log-odds of churn when every feature is 0 (original units). */
  readonly intercept: number;
  /** Change in log-odds per unit of each feature (original units). */
  readonly coefficients: readonly number[];
}

export type LogisticFitStatus = 'ok' | 'not-converged' | 'no-positives' | 'no-negatives' | 'empty';

export interface LogisticFit extends LogisticModel {
  /**
   * 'ok'; 'not-converged' (coefficients usable but not final); 'no-positives'
   * or 'no-negatives' (every row has the same label: nothing to learn, the
   * model predicts a smoothed base rate); 'empty' (no rows).
   */
  readonly status: LogisticFitStatus;
  /** Sentences for the person who asked for the fit: what was degenerate and what was done. */
  readonly warnings: readonly string[];
  /** Approximate standard errors in original units, from the penalised Hessian; null where not estimable. */
  readonly interceptStandardError: number | null;
  readonly standardErrors: readonly (number | null)[];
  /** The fit on the standardised scale, with the standardisation used. */
  readonly standardizedIntercept: number;
  readonly standardizedCoefficients: readonly number[];
  readonly means: readonly number[];
  readonly scales: readonly number[];
  /** Indices of features with the same value in every row (coefficient 0). */
  readonly constantFeatures: readonly number[];
  readonly l2: number;
  readonly rows: number;
  /** Weighted count of churners. */
  readonly positives: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** Log-likelihood (natural log, weighted, without the penalty) at the fit. */
  readonly logLikelihood: number;
}

export interface LogisticFitOptions {
  /** λ of the L2 penalty on standardised coefficients. Default 1e-4 (barely shrinks at a few thousand rows). */
  readonly l2?: number;
  /** Names for the features (defaults x1, x2, …). */
  readonly featureNames?: readonly string[];
  /** Non-negative row weights (default 1). */
  readonly weights?: ArrayLike<number>;
  readonly maxIterations?: number;
  /** Stop when no standardised coefficient moves by more than this. Default 1e-9. */
  readonly tolerance?: number;
}

function invalid(message: string): ScoringError {
  return new ScoringError('SCORING_INVALID_OBSERVATION', message);
}

function labelValue(v: boolean | number, i: number): number {
  if (v === true || v === 1) return 1;
  if (v === false || v === 0) return 0;
  throw invalid(`row #${i}: label must be true/false or 1/0, got ${String(v)}`);
}

/** ln(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * Fits the model. Rows are feature vectors of equal length; labels are churned
 * (true/1) or not (false/0). Never throws for degenerate data (no churners,
 * constant features): it reports them in `status` and `warnings`. Throws for
 * malformed input (ragged rows, non-finite values, bad labels).
 */
export function fitLogistic(features: readonly (readonly number[])[], labels: ArrayLike<boolean | number>, options: LogisticFitOptions = {}): LogisticFit {
  const n = features.length;
  if (labels.length !== n) throw invalid(`${n} feature rows but ${labels.length} labels`);
  const p = n > 0 ? features[0]!.length : (options.featureNames?.length ?? 0);
  const names = options.featureNames ? [...options.featureNames] : Array.from({ length: p }, (_, j) => `x${j + 1}`);
  if (names.length !== p) throw invalid(`${names.length} feature names for ${p} features`);
  const l2 = options.l2 ?? 1e-4;
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new ScoringError('SCORING_INVALID_ARGUMENT', `l2 must be a number ≥ 0, got ${l2}`);
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-9;
  const weights = options.weights;
  if (weights && weights.length !== n) throw invalid(`${weights.length} weights for ${n} rows`);

  // Labels, weights, and the weighted mean and standard deviation of each feature.
  const y = new Float64Array(n);
  const w = new Float64Array(n);
  let totalWeight = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    y[i] = labelValue(labels[i]!, i);
    const wi = weights ? weights[i]! : 1;
    if (!(wi >= 0 && Number.isFinite(wi))) throw invalid(`row #${i}: weight must be a number ≥ 0, got ${wi}`);
    w[i] = wi;
    totalWeight += wi;
    positives += wi * y[i]!;
  }
  const means = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = features[i]!;
    if (row.length !== p) throw invalid(`row #${i} has ${row.length} features, expected ${p}`);
    for (let j = 0; j < p; j++) {
      const v = row[j]!;
      if (!Number.isFinite(v)) throw invalid(`row #${i}: feature "${names[j]}" is ${v}; impute or drop missing values before fitting`);
      means[j] = means[j]! + w[i]! * v;
    }
  }
  for (let j = 0; j < p; j++) means[j] = totalWeight > 0 ? means[j]! / totalWeight : 0;
  const scales = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = features[i]!;
    for (let j = 0; j < p; j++) {
      const d = row[j]! - means[j]!;
      scales[j] = scales[j]! + w[i]! * d * d;
    }
  }
  const constantFeatures: number[] = [];
  for (let j = 0; j < p; j++) {
    const sd = totalWeight > 0 ? Math.sqrt(scales[j]! / totalWeight) : 0;
    if (!(sd > 1e-12 * Math.max(1, Math.abs(means[j]!)))) {
      constantFeatures.push(j);
      scales[j] = 0;
    } else {
      scales[j] = sd;
    }
  }
  const warnings: string[] = constantFeatures.map(
    (j) => `feature "${names[j]}" has the same value in every row, so it cannot explain churn; its coefficient is 0`,
  );

  const base = {
    featureNames: names,
    means: Array.from(means),
    scales: Array.from(scales),
    constantFeatures,
    l2,
    rows: n,
    positives,
  };

  // Nothing to learn: report it and predict a smoothed base rate, (k + ½) / (n + 1).
  if (n === 0 || totalWeight === 0 || positives === 0 || positives === totalWeight) {
    const status: LogisticFitStatus = n === 0 || totalWeight === 0 ? 'empty' : positives === 0 ? 'no-positives' : 'no-negatives';
    const rate = (positives + 0.5) / (totalWeight + 1);
    const intercept = Math.log(rate) - Math.log1p(-rate);
    warnings.unshift(
      status === 'empty'
        ? 'no rows to fit: the model predicts 50% for everyone'
        : status === 'no-positives'
          ? `no churners among ${formatCount(totalWeight)} rows: nothing to learn; the model predicts ${percent(rate)} for everyone`
          : `every one of ${formatCount(totalWeight)} rows churned: nothing to learn; the model predicts ${percent(rate)} for everyone`,
    );
    let logLikelihood = 0;
    for (let i = 0; i < n; i++) logLikelihood -= w[i]! * (softplus(intercept) - y[i]! * intercept);
    return {
      ...base,
      intercept,
      coefficients: new Array<number>(p).fill(0),
      status,
      warnings,
      interceptStandardError: null,
      standardErrors: new Array<number | null>(p).fill(null),
      standardizedIntercept: intercept,
      standardizedCoefficients: new Array<number>(p).fill(0),
      iterations: 0,
      converged: true,
      logLikelihood,
    };
  }

  // Standardised design, row-major; constant columns stay 0.
  const X = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const row = features[i]!;
    for (let j = 0; j < p; j++) X[i * p + j] = scales[j]! > 0 ? (row[j]! - means[j]!) / scales[j]! : 0;
  }
  const k = p + 1; // parameter 0 is the intercept
  const beta = new Float64Array(k);
  const rate = positives / totalWeight;
  beta[0] = Math.log(rate) - Math.log1p(-rate);
  const eta = new Float64Array(n);
  const objective = (b: Float64Array): number => {
    let loss = 0;
    for (let i = 0; i < n; i++) {
      let z = b[0]!;
      for (let j = 0; j < p; j++) z += b[j + 1]! * X[i * p + j]!;
      eta[i] = z;
      loss += w[i]! * (softplus(z) - y[i]! * z);
    }
    let penalty = 0;
    for (let j = 1; j < k; j++) penalty += b[j]! * b[j]!;
    return loss / totalWeight + 0.5 * l2 * penalty;
  };
  const grad = new Float64Array(k);
  const H = new Float64Array(k * k);
  const step = new Float64Array(k);
  const trial = new Float64Array(k);
  let f = objective(beta);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    iterations++;
    hessianAndGradient(X, y, w, eta, n, p, totalWeight, l2, beta, grad, H);
    if (!solveSymmetric(H, grad, step, k)) break;
    // Newton step with halving until the penalised loss does not rise.
    let t = 1;
    let fNew = Number.NaN;
    for (let h = 0; h < 40; h++) {
      for (let j = 0; j < k; j++) trial[j] = beta[j]! - t * step[j]!;
      fNew = objective(trial);
      if (Number.isFinite(fNew) && fNew <= f + 1e-15 * Math.abs(f)) break;
      t *= 0.5;
    }
    let moved = 0;
    for (let j = 0; j < k; j++) moved = Math.max(moved, Math.abs(trial[j]! - beta[j]!));
    if (!Number.isFinite(fNew) || fNew > f + 1e-15 * Math.abs(f)) {
      objective(beta); // restore eta for the final Hessian
      converged = moved < Math.sqrt(tolerance);
      break;
    }
    beta.set(trial);
    f = fNew;
    if (moved < tolerance) {
      converged = true;
      break;
    }
  }
  objective(beta);
  hessianAndGradient(X, y, w, eta, n, p, totalWeight, l2, beta, grad, H);
  const covariance = invertSymmetric(H, k);
  // Σ = H⁻¹ / W: H is the Hessian of the mean loss.
  const cov = (a: number, b: number): number => (covariance ? covariance[a * k + b]! / totalWeight : Number.NaN);

  const coefficients = new Array<number>(p);
  const standardErrors = new Array<number | null>(p);
  let intercept = beta[0]!;
  // Gradient of the original-units intercept with respect to the standardised parameters.
  const g = new Float64Array(k);
  g[0] = 1;
  for (let j = 0; j < p; j++) {
    const s = scales[j]!;
    if (s > 0) {
      coefficients[j] = beta[j + 1]! / s;
      intercept -= (beta[j + 1]! * means[j]!) / s;
      g[j + 1] = -means[j]! / s;
      const se = Math.sqrt(cov(j + 1, j + 1)) / s;
      standardErrors[j] = Number.isFinite(se) ? se : null;
    } else {
      coefficients[j] = 0;
      standardErrors[j] = null;
    }
  }
  let interceptVariance = 0;
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) interceptVariance += g[a]! * g[b]! * cov(a, b);
  const interceptStandardError = Number.isFinite(interceptVariance) && interceptVariance >= 0 ? Math.sqrt(interceptVariance) : null;

  let logLikelihood = 0;
  for (let i = 0; i < n; i++) logLikelihood -= w[i]! * (softplus(eta[i]!) - y[i]! * eta[i]!);
  if (!converged) {
    warnings.unshift(
      l2 === 0
        ? `did not converge in ${iterations} iterations: the classes may be perfectly separable; use a positive l2 penalty`
        : `did not converge in ${iterations} iterations; coefficients are approximate`,
    );
  }
  return {
    ...base,
    intercept,
    coefficients,
    status: converged ? 'ok' : 'not-converged',
    warnings,
    interceptStandardError,
    standardErrors,
    standardizedIntercept: beta[0]!,
    standardizedCoefficients: Array.from(beta.subarray(1)),
    iterations,
    converged,
    logLikelihood,
  };
}

function hessianAndGradient(
  X: Float64Array,
  y: Float64Array,
  w: Float64Array,
  eta: Float64Array,
  n: number,
  p: number,
  totalWeight: number,
  l2: number,
  beta: Float64Array,
  grad: Float64Array,
  H: Float64Array,
): void {
  const k = p + 1;
  grad.fill(0);
  H.fill(0);
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    const mu = sigmoid(eta[i]!);
    const r = wi * (mu - y[i]!);
    const v = wi * mu * (1 - mu);
    const off = i * p;
    grad[0] = grad[0]! + r;
    H[0] = H[0]! + v;
    for (let a = 0; a < p; a++) {
      const xa = X[off + a]!;
      if (xa === 0) continue;
      grad[a + 1] = grad[a + 1]! + r * xa;
      const vxa = v * xa;
      H[a + 1] = H[a + 1]! + vxa; // row 0
      const rowA = (a + 1) * k;
      for (let b = 0; b <= a; b++) H[rowA + b + 1] = H[rowA + b + 1]! + vxa * X[off + b]!;
    }
  }
  for (let a = 0; a < k; a++) {
    grad[a] = grad[a]! / totalWeight;
    for (let b = 0; b <= a; b++) {
      const idx = a * k + b;
      // Intercept-row products were accumulated in row 0, the rest in the lower triangle.
      const v = (b === 0 ? H[a]! : H[idx]!) / totalWeight;
      H[idx] = v;
      H[b * k + a] = v;
    }
  }
  for (let j = 1; j < k; j++) {
    grad[j] = grad[j]! + l2 * beta[j]!;
    H[j * k + j] = H[j * k + j]! + l2;
  }
}

/**
 * Cholesky factorisation of a symmetric matrix, with a small ridge added when
 * it is not numerically positive definite (a constant column, or λ = 0 with
 * separated classes). Returns the lower factor or null.
 */
function cholesky(A: Float64Array, k: number): Float64Array | null {
  let scale = 0;
  for (let i = 0; i < k; i++) scale = Math.max(scale, Math.abs(A[i * k + i]!));
  for (const ridge of [0, 1e-12, 1e-9, 1e-6]) {
    const L = new Float64Array(k * k);
    let ok = true;
    for (let i = 0; i < k && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = A[i * k + j]! + (i === j ? ridge * Math.max(scale, 1) : 0);
        for (let m = 0; m < j; m++) s -= L[i * k + m]! * L[j * k + m]!;
        if (i === j) {
          if (!(s > 0)) {
            ok = false;
            break;
          }
          L[i * k + i] = Math.sqrt(s);
        } else {
          L[i * k + j] = s / L[j * k + j]!;
        }
      }
    }
    if (ok) return L;
  }
  return null;
}

function solveSymmetric(A: Float64Array, b: Float64Array, out: Float64Array, k: number): boolean {
  const L = cholesky(A, k);
  if (!L) return false;
  const z = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = b[i]!;
    for (let m = 0; m < i; m++) s -= L[i * k + m]! * z[m]!;
    z[i] = s / L[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let m = i + 1; m < k; m++) s -= L[m * k + i]! * out[m]!;
    out[i] = s / L[i * k + i]!;
  }
  return true;
}

function invertSymmetric(A: Float64Array, k: number): Float64Array | null {
  const inv = new Float64Array(k * k);
  const e = new Float64Array(k);
  const col = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    e.fill(0);
    e[j] = 1;
    if (!solveSymmetric(A, e, col, k)) return null;
    for (let i = 0; i < k; i++) inv[i * k + j] = col[i]!;
  }
  return inv;
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1);
}

function percent(p: number): string {
  const v = 100 * p;
  return `${v < 1 ? v.toPrecision(1) : v.toFixed(1).replace(/\.0$/, '')}%`;
}

/** The model's churn probability for one feature vector (original units). */
export function predictChurnProbability(model: LogisticModel, features: readonly number[]): number {
  if (features.length !== model.coefficients.length) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `${features.length} features given, the model has ${model.coefficients.length}`);
  }
  let z = model.intercept;
  for (let j = 0; j < features.length; j++) {
    const c = model.coefficients[j]!;
    if (c !== 0) z += c * features[j]!;
  }
  return sigmoid(z);
}

export interface PrecisionThreshold {
  /** Flag an account when its score is at or above this. */
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly flagged: number;
  readonly truePositives: number;
}

/**
 * The warning threshold that reaches a target precision with the most recall:
 * among the rules "flag when score ≥ s" (s running over the observed scores;
 * tied scores are flagged together), those whose precision is at least the
 * target, the one catching the most churners; on equal recall, the higher
 * threshold (fewer flags). Null when no threshold reaches the target or
 * nobody churned. Non-finite scores are left out.
 */
export function pickThresholdForPrecision(scores: ArrayLike<number>, labels: ArrayLike<boolean | number>, targetPrecision: number): PrecisionThreshold | null {
  if (scores.length !== labels.length) throw invalid(`${scores.length} scores but ${labels.length} labels`);
  if (!(targetPrecision >= 0 && targetPrecision <= 1)) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `targetPrecision must lie in 0–1, got ${targetPrecision}`);
  }
  const idx: number[] = [];
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    const y = labelValue(labels[i]!, i);
    if (!Number.isFinite(scores[i]!)) continue;
    idx.push(i);
    positives += y;
  }
  if (positives === 0) return null;
  idx.sort((a, b) => scores[b]! - scores[a]!);
  let tp = 0;
  let flagged = 0;
  let best: PrecisionThreshold | null = null;
  let i = 0;
  while (i < idx.length) {
    const s = scores[idx[i]!]!;
    while (i < idx.length && scores[idx[i]!]! === s) {
      tp += labelValue(labels[idx[i]!]!, idx[i]!);
      flagged++;
      i++;
    }
    const precision = tp / flagged;
    const recall = tp / positives;
    if (precision >= targetPrecision && (best === null || recall > best.recall)) {
      best = { threshold: s, precision, recall, flagged, truePositives: tp };
    }
  }
  return best;
}
