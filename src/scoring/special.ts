/**
 * Special functions and a small optimizer for the buy-till-you-die models.
 *
 * Everything here is pure number crunching: no I/O, no clock, no state.
 */

const LN_SQRT_2PI = 0.9189385332046727; // ln(sqrt(2π))

// Lanczos approximation, g = 7, n = 9 (Godfrey's coefficients). Relative error
// of Γ below 2e-15 over the positive reals; lnΓ is accurate to ~1e-14.
const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
] as const;

/** Natural log of |Γ(x)|. +Infinity at the poles (0, −1, −2, …). */
export function lnGamma(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (x < 0.5) {
    if (Number.isInteger(x)) return Number.POSITIVE_INFINITY;
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  }
  if (x === 1 || x === 2) return 0;
  const z = x - 1;
  let sum = LANCZOS_COEFFICIENTS[0];
  for (let i = 1; i < LANCZOS_COEFFICIENTS.length; i++) {
    sum += LANCZOS_COEFFICIENTS[i]! / (z + i);
  }
  const t = z + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** ln B(a, b) = lnΓ(a) + lnΓ(b) − lnΓ(a + b). */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** Digamma ψ(x) = d/dx lnΓ(x). Recurrence up to x ≥ 10, then the asymptotic series (error < 1e-16 there). */
export function digamma(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) {
    if (Number.isInteger(x)) return Number.NaN;
    // Reflection: ψ(1 − x) − ψ(x) = π cot(πx).
    return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  }
  let result = 0;
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // Bernoulli terms: 1/12, 1/120, 1/252, 1/240, 1/132, 691/32760, 1/12.
  const series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760 - inv2 / 12))))));
  return result + Math.log(x) - 0.5 * inv - series;
}

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === Number.NEGATIVE_INFINITY) return b;
  if (b === Number.NEGATIVE_INFINITY) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** ln Σ e^{v_i} without overflow; −Infinity for an empty input. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > max) max = v;
  }
  if (max === Number.NEGATIVE_INFINITY || !Number.isFinite(max)) return max;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

const HYP2F1_MAX_TERMS = 1_000_000;

/**
 * Gauss hypergeometric function ₂F₁(a, b; c; z) for real z < 1, by its power
 * series. Negative z is first mapped into (0, 1) with Pfaff's transformation
 * ₂F₁(a, b; c; z) = (1 − z)^{−a} ₂F₁(a, c − b; c; z/(z − 1)), so the series
 * always runs on 0 ≤ z < 1 where its terms eventually shrink geometrically.
 * Convergence slows as z → 1 (about −37/ln z terms for full precision), which
 * is fine for the BG/NBD arguments t/(α + T + t) at realistic horizons.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(z < 1)) return Number.NaN;
  if (c <= 0 && Number.isInteger(c)) return Number.NaN;
  if (z < 0) {
    return (1 - z) ** -a * hyp2f1Series(a, c - b, c, z / (z - 1));
  }
  return hyp2f1Series(a, b, c, z);
}

function hyp2f1Series(a: number, b: number, c: number, z: number): number {
  // Past this index no Pochhammer factor changes sign, so once the term ratio
  // is below 1 the remaining terms shrink monotonically.
  const settled = Math.max(0, -a, -b, -c);
  let term = 1;
  let sum = 1;
  for (let n = 0; n < HYP2F1_MAX_TERMS; n++) {
    const ratio = (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    term *= ratio;
    sum += term;
    if (term === 0) break;
    if (n > settled && Math.abs(ratio) < 1 && Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return sum;
}

// ---------------------------------------------------------------------------
// Optimizers. Both minimise; the models pass the negative mean log-likelihood
// over log-parameters, so positivity is automatic and the scale is O(1).
// ---------------------------------------------------------------------------

export interface MinimizeResult {
  readonly x: number[];
  readonly value: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly converged: boolean;
}

/**
 * Models are fitted over log-parameters inside |θ| ≤ 30 (parameters between
 * 1e-13 and 1e13). Data that push a fit to that wall (a handful of customers,
 * nobody repeating) have no finite maximum-likelihood estimate; the objectives
 * return NaN beyond it so the optimizers stay inside and report no convergence.
 */
export const LOG_PARAMETER_LIMIT = 30;

export function withinLogParameterBox(theta: ArrayLike<number>): boolean {
  for (let i = 0; i < theta.length; i++) {
    if (!(Math.abs(theta[i]!) <= LOG_PARAMETER_LIMIT)) return false;
  }
  return true;
}

/** True when a fitted log-parameter sits at the wall of the box. */
export function atLogParameterWall(theta: ArrayLike<number>): boolean {
  for (let i = 0; i < theta.length; i++) {
    if (Math.abs(theta[i]!) > LOG_PARAMETER_LIMIT - 1) return true;
  }
  return false;
}

/** Objective that returns f(x) and writes ∇f(x) into `grad`. */
export type ObjectiveWithGradient = (x: Float64Array, grad: Float64Array) => number;

export interface BfgsOptions {
  /** Stop when the largest gradient component is below this. Default 1e-9. */
  readonly gradientTolerance?: number;
  /** Stop when a step improves f by less than this (relative). Default 1e-15. */
  readonly valueTolerance?: number;
  readonly maxIterations?: number;
}

/**
 * BFGS quasi-Newton minimisation with a backtracking (Armijo) line search.
 * Steps into non-finite values are treated as failed and shortened, so the
 * objective may return NaN/Infinity outside its domain.
 */
export function minimizeBfgs(fg: ObjectiveWithGradient, start: readonly number[], options: BfgsOptions = {}): MinimizeResult {
  const gtol = options.gradientTolerance ?? 1e-9;
  const ftol = options.valueTolerance ?? 1e-15;
  const maxIterations = options.maxIterations ?? 500;
  const n = start.length;
  let x = Float64Array.from(start);
  let g = new Float64Array(n);
  let f = fg(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) {
    return { x: Array.from(x), value: f, iterations: 0, evaluations, converged: false };
  }
  // Inverse Hessian approximation, row-major.
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) H[i * n + i] = 1;
  let scaled = false;
  const direction = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  const Hy = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);
  let iterations = 0;
  let converged = false;
  let stalled = 0;

  while (iterations < maxIterations) {
    if (maxAbs(g) < gtol) {
      converged = true;
      break;
    }
    iterations++;
    let slope = 0;
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let j = 0; j < n; j++) d -= H[i * n + j]! * g[j]!;
      direction[i] = d;
      slope += d * g[i]!;
    }
    if (!(slope < 0)) {
      // Lost descent (numerical trouble): restart from steepest descent.
      H.fill(0);
      for (let i = 0; i < n; i++) {
        H[i * n + i] = 1;
        direction[i] = -g[i]!;
      }
      slope = -dot(g, g);
      scaled = false;
    }
    // The predicted decrease is below what f can resolve in floating point:
    // nothing measurable is left to gain, so stop instead of backtracking in noise.
    if (-slope <= 1e-12 * (1 + Math.abs(f))) {
      converged = true;
      break;
    }
    // On the very first step keep the move modest: unit length in log-space.
    let step = scaled ? 1 : Math.min(1, 1 / Math.sqrt(dot(direction, direction)));
    let fNew = Number.NaN;
    let accepted = false;
    for (let k = 0; k < 30; k++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * direction[i]!;
      fNew = fg(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= Number.isFinite(fNew) ? 0.5 : 0.1;
    }
    if (!accepted) {
      // No step along a descent direction lowers f: either the gradient is
      // mostly rounding noise (fine) or the problem is ill-posed (not fine).
      converged = maxAbs(g) < Math.sqrt(gtol);
      break;
    }
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
      sy += s[i]! * y[i]!;
    }
    const improvement = f - fNew;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;
    if (sy > 1e-300) {
      if (!scaled) {
        // Shanno–Phua scaling of the initial inverse Hessian.
        const scale = sy / dot(y, y);
        H.fill(0);
        for (let i = 0; i < n; i++) H[i * n + i] = scale;
        scaled = true;
      }
      let yHy = 0;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += H[i * n + j]! * y[j]!;
        Hy[i] = v;
        yHy += y[i]! * v;
      }
      const rho = 1 / sy;
      const factor = (1 + rho * yHy) * rho;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          H[i * n + j] = H[i * n + j]! + factor * s[i]! * s[j]! - rho * (Hy[i]! * s[j]! + s[i]! * Hy[j]!);
        }
      }
    }
    if (improvement <= ftol * (1 + Math.abs(f))) {
      stalled++;
      if (stalled >= 3) {
        converged = maxAbs(g) < Math.sqrt(gtol);
        break;
      }
    } else {
      stalled = 0;
    }
  }
  return { x: Array.from(x), value: f, iterations, evaluations, converged };
}

/** Wraps f in central differences so it can be used with `minimizeBfgs`. */
export function withNumericGradient(f: (x: Float64Array) => number, relativeStep = 1e-6): ObjectiveWithGradient {
  return (x, grad) => {
    const fx = f(x);
    const probe = Float64Array.from(x);
    for (let i = 0; i < x.length; i++) {
      const h = relativeStep * Math.max(1, Math.abs(x[i]!));
      probe[i] = x[i]! + h;
      const up = f(probe);
      probe[i] = x[i]! - h;
      const down = f(probe);
      probe[i] = x[i]!;
      grad[i] = (up - down) / (2 * h);
    }
    return fx;
  };
}

export interface NelderMeadOptions {
  /** Initial simplex edge length. Default 0.5 (in log-parameter units). */
  readonly step?: number;
  /** Stop when the simplex's f-values span less than this. Default 1e-12. */
  readonly tolerance?: number;
  readonly maxEvaluations?: number;
  /** Restart from the best point this many times (fights premature collapse). Default 2. */
  readonly restarts?: number;
}

/** Nelder–Mead downhill simplex with restarts. Derivative-free and robust. */
export function minimizeNelderMead(f: (x: Float64Array) => number, start: readonly number[], options: NelderMeadOptions = {}): MinimizeResult {
  const restarts = options.restarts ?? 2;
  const maxEvaluations = options.maxEvaluations ?? 20_000;
  let best = Array.from(start);
  let total = 0;
  let iterations = 0;
  let result: MinimizeResult | undefined;
  for (let round = 0; round <= restarts; round++) {
    result = nelderMeadOnce(f, best, {
      step: options.step ?? 0.5,
      tolerance: options.tolerance ?? 1e-12,
      maxEvaluations: Math.max(1, maxEvaluations - total),
    });
    total += result.evaluations;
    iterations += result.iterations;
    const moved = result.x.some((v, i) => Math.abs(v - best[i]!) > 1e-9);
    best = result.x;
    if (!moved || total >= maxEvaluations) break;
  }
  const last = result!;
  return { ...last, iterations, evaluations: total };
}

function nelderMeadOnce(
  f: (x: Float64Array) => number,
  start: readonly number[],
  options: { step: number; tolerance: number; maxEvaluations: number },
): MinimizeResult {
  const n = start.length;
  const safe = (x: Float64Array): number => {
    const v = f(x);
    return Number.isNaN(v) ? Number.POSITIVE_INFINITY : v;
  };
  const points: Float64Array[] = [];
  const values: number[] = [];
  let evaluations = 0;
  for (let i = 0; i <= n; i++) {
    const p = Float64Array.from(start);
    if (i > 0) p[i - 1] = p[i - 1]! + options.step;
    points.push(p);
    values.push(safe(p));
    evaluations++;
  }
  const centroid = new Float64Array(n);
  const trial = new Float64Array(n);
  const trial2 = new Float64Array(n);
  let iterations = 0;
  let converged = false;
  const order = Array.from({ length: n + 1 }, (_, i) => i);
  while (evaluations < options.maxEvaluations) {
    order.sort((i, j) => values[i]! - values[j]!);
    const bestI = order[0]!;
    const worstI = order[n]!;
    const secondWorstI = order[n - 1]!;
    const spread = Math.abs(values[worstI]! - values[bestI]!);
    if (spread <= options.tolerance * (1 + Math.abs(values[bestI]!))) {
      converged = true;
      break;
    }
    iterations++;
    centroid.fill(0);
    for (const i of order.slice(0, n)) {
      const p = points[i]!;
      for (let k = 0; k < n; k++) centroid[k] = centroid[k]! + p[k]! / n;
    }
    const worst = points[worstI]!;
    const along = (out: Float64Array, t: number): number => {
      for (let k = 0; k < n; k++) out[k] = centroid[k]! + t * (worst[k]! - centroid[k]!);
      evaluations++;
      return safe(out);
    };
    const fr = along(trial, -1);
    if (fr < values[bestI]!) {
      const fe = along(trial2, -2);
      if (fe < fr) {
        worst.set(trial2);
        values[worstI] = fe;
      } else {
        worst.set(trial);
        values[worstI] = fr;
      }
    } else if (fr < values[secondWorstI]!) {
      worst.set(trial);
      values[worstI] = fr;
    } else {
      const outside = fr < values[worstI]!;
      const fc = along(trial2, outside ? -0.5 : 0.5);
      if (fc < (outside ? fr : values[worstI]!)) {
        worst.set(trial2);
        values[worstI] = fc;
      } else {
        const bestP = points[bestI]!;
        for (const i of order.slice(1)) {
          const p = points[i]!;
          for (let k = 0; k < n; k++) p[k] = bestP[k]! + 0.5 * (p[k]! - bestP[k]!);
          values[i] = safe(p);
          evaluations++;
        }
      }
    }
  }
  let bi = 0;
  for (let i = 1; i <= n; i++) if (values[i]! < values[bi]!) bi = i;
  return {
    x: Array.from(points[bi]!),
    value: values[bi]!,
    iterations,
    evaluations,
    converged,
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

/**
 * BFGS first; when it does not converge (flat or ragged likelihood), a
 * restarted Nelder–Mead from where it stopped, polished by BFGS again. The
 * fits of every model share this, so they fail and recover the same way.
 * `iterations` counts all three stages.
 */
export function minimizeRobust(fg: ObjectiveWithGradient, start: readonly number[], maxIterations: number): MinimizeResult {
  let result = minimizeBfgs(fg, start, { maxIterations });
  if (result.converged) return result;
  const scratch = new Float64Array(start.length);
  const nm = minimizeNelderMead((t) => fg(t, scratch), result.x, { restarts: 3 });
  const polish = minimizeBfgs(fg, nm.x, { maxIterations });
  const iterations = result.iterations + nm.iterations + polish.iterations;
  result = polish.value <= nm.value ? polish : { ...nm, converged: polish.converged };
  return { ...result, iterations };
}
