/**
 * The health model, pure: from the scorecard's measures replayed at past
 * dates and whether each customer churned within the horizon after, learn
 * the measures' weights, calibrate the health score into a chance of churn,
 * pick the alert threshold, and decide — on a held-out date never fitted on —
 * whether the learned weights beat the configured ones. No I/O, no clock.
 *
 * Why weights rather than a separate black box: the card shows one health
 * number with the drivers that moved it. A logistic model of the measures'
 * distances from neutral says how much each point of each measure changes the
 * odds of churn; those per-point effects, made non-negative and normalised,
 * are scorecard weights. The chance of churn is then a calibrated function of
 * the health score shown (Platt scaling: σ(a + b · health)), so the number, its
 * drivers and the percentage never disagree.
 */
import { auc, averagePrecision, brierScore, type RankedOutcome } from '../scoring/backtest.js';
import { fitLogistic, MEASURE_KEYS, NEUTRAL_SCORES, pickThresholdForPrecision, sigmoid, type MeasureKey } from '../scoring/index.js';

export type ChurnDefinition = 'status' | 'lapse';

const P = MEASURE_KEYS.length;

/**
 * Customer-dates, columnar: each measure's score (NaN when the customer had
 * no data for it), the health under the configured weights (unrounded), and
 * whether the customer churned within the horizon.
 */
export interface HealthRows {
  readonly n: number;
  /** n × 7 in MEASURE_KEYS order. */
  readonly scores: Float64Array;
  readonly health: Float64Array;
  readonly churned: Uint8Array;
}

export interface HealthRowBuilder {
  add(measures: readonly { key: string; score: number }[], health: number, churned: boolean): void;
  readonly size: number;
  rows(): HealthRows;
}

const KEY_INDEX: ReadonlyMap<string, number> = new Map(MEASURE_KEYS.map((k, i) => [k, i]));

/** Rows gathered one customer at a time into typed arrays (a few dozen bytes each). */
export function healthRowBuilder(capacity = 4096): HealthRowBuilder {
  let scores = new Float64Array(capacity * P);
  let health = new Float64Array(capacity);
  let churned = new Uint8Array(capacity);
  let n = 0;
  const grow = () => {
    const cap = health.length * 2;
    const s = new Float64Array(cap * P);
    s.set(scores);
    scores = s;
    const h = new Float64Array(cap);
    h.set(health);
    health = h;
    const c = new Uint8Array(cap);
    c.set(churned);
    churned = c;
  };
  return {
    add(measures, h, isChurned) {
      if (n === health.length) grow();
      const off = n * P;
      scores.fill(Number.NaN, off, off + P);
      for (const m of measures) {
        const j = KEY_INDEX.get(m.key);
        if (j !== undefined && Number.isFinite(m.score)) scores[off + j] = m.score;
      }
      health[n] = h;
      churned[n] = isChurned ? 1 : 0;
      n++;
    },
    get size() {
      return n;
    },
    rows() {
      return { n, scores: scores.subarray(0, n * P), health: health.subarray(0, n), churned: churned.subarray(0, n) };
    },
  };
}

export function concatRows(parts: readonly HealthRows[]): HealthRows {
  const n = parts.reduce((s, p) => s + p.n, 0);
  const scores = new Float64Array(n * P);
  const health = new Float64Array(n);
  const churned = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    scores.set(p.scores, at * P);
    health.set(p.health, at);
    churned.set(p.churned, at);
    at += p.n;
  }
  return { n, scores, health, churned };
}

function churners(rows: HealthRows): number {
  let k = 0;
  for (let i = 0; i < rows.n; i++) k += rows.churned[i]!;
  return k;
}

/**
 * Health of row i under some weights, as the scorecard computes it: the
 * weighted mean over the measures present, weights renormalised; NaN when no
 * present measure has weight.
 */
export function healthUnder(weights: Readonly<Record<MeasureKey, number>>, rows: HealthRows, i: number): number {
  let sum = 0;
  let total = 0;
  for (let j = 0; j < P; j++) {
    const s = rows.scores[i * P + j]!;
    const w = weights[MEASURE_KEYS[j]!];
    if (Number.isNaN(s) || !(w > 0)) continue;
    sum += w * s;
    total += w;
  }
  return total > 0 ? sum / total : Number.NaN;
}

/**
 * A measure's effect per point must lower churn to earn weight. One the
 * history found useless (or backwards) keeps a token 1% of the largest, so an
 * account measured by it alone still gets a score rather than none.
 */
export function weightsFromCoefficients(coefficients: Readonly<Record<MeasureKey, number>>): Record<MeasureKey, number> | null {
  const raw = MEASURE_KEYS.map((k) => Math.max(0, -(coefficients[k] ?? 0)));
  const max = Math.max(...raw);
  if (!(max > 0) || !Number.isFinite(max)) return null;
  const floored = raw.map((v) => v + 0.01 * max);
  const total = floored.reduce((a, b) => a + b, 0);
  return Object.fromEntries(MEASURE_KEYS.map((k, j) => [k, floored[j]! / total])) as Record<MeasureKey, number>;
}

export interface Calibration {
  readonly intercept: number;
  readonly slope: number;
}

export interface HealthThreshold {
  /** Warn when the chance of churn is at or above this. */
  readonly probability: number;
  readonly targetPrecision: number;
  /** On the training dates, where it was picked. */
  readonly precision: number;
  readonly recall: number;
  /** On the held-out date; null when it could not be judged there. */
  readonly validationPrecision: number | null;
  readonly validationRecall: number | null;
}

export interface HealthValidation {
  readonly asOf: string;
  readonly rows: number;
  readonly churners: number;
  /** AUC of the health score under the configured / learned weights (risk = 100 − health). */
  readonly aucConfigured: number | null;
  readonly aucLearned: number | null;
  /** Brier score of the calibrated chance of churn under each. */
  readonly brierConfigured: number | null;
  readonly brierLearned: number | null;
  readonly averagePrecisionConfigured: number | null;
  readonly averagePrecisionLearned: number | null;
}

export interface HealthModel {
  readonly version: 1;
  readonly horizonDays: number;
  readonly churn: ChurnDefinition;
  /** Which weights the scorecard uses. */
  readonly use: 'learned' | 'configured';
  /** Why, in words for the person who ran the fit. */
  readonly reason: string;
  /** The weights in use (normalised). */
  readonly weights: Record<MeasureKey, number>;
  /** The configured weights at fit time: a calibration of them is void once the configuration changes. */
  readonly configuredWeights: Record<MeasureKey, number>;
  /** Learned weights, whether used or not; null when nothing could be learned. */
  readonly learnedWeights: Record<MeasureKey, number> | null;
  /** The logistic model behind them: change in log-odds of churn per point of each measure above neutral. */
  readonly coefficients: Record<MeasureKey, number> | null;
  readonly standardErrors: Record<MeasureKey, number | null> | null;
  readonly intercept: number | null;
  /** P(churn within horizonDays) = σ(intercept + slope · health under `weights`); null when the history cannot calibrate it. */
  readonly calibration: Calibration | null;
  readonly threshold: HealthThreshold | null;
  readonly training: { readonly origins: readonly string[]; readonly rows: number; readonly churners: number };
  readonly validation: HealthValidation | null;
  readonly warnings: readonly string[];
}

export interface ChooseOptions {
  readonly horizonDays: number;
  readonly churn: ChurnDefinition;
  readonly configuredWeights: Readonly<Record<MeasureKey, number>>;
  readonly l2: number;
  readonly targetPrecision: number;
  readonly trainingOrigins: readonly string[];
  readonly validationOrigin: string | null;
}

function normalised(w: Readonly<Record<MeasureKey, number>>): Record<MeasureKey, number> {
  const total = MEASURE_KEYS.reduce((s, k) => s + Math.max(0, w[k] ?? 0), 0);
  return Object.fromEntries(MEASURE_KEYS.map((k) => [k, total > 0 ? Math.max(0, w[k] ?? 0) / total : 0])) as Record<MeasureKey, number>;
}

/** Health of every row under some weights (NaN where none of its measures has weight). */
function healthColumn(weights: Readonly<Record<MeasureKey, number>>, rows: HealthRows): Float64Array {
  const out = new Float64Array(rows.n);
  for (let i = 0; i < rows.n; i++) out[i] = healthUnder(weights, rows, i);
  return out;
}

/** Platt scaling: the chance of churn as a logistic function of health, fitted on rows with a health. */
function calibrate(health: Float64Array, churned: Uint8Array): Calibration | null {
  const features: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < health.length; i++) {
    if (Number.isNaN(health[i]!)) continue;
    features.push([health[i]!]);
    labels.push(churned[i]!);
  }
  const fit = fitLogistic(features, labels, { l2: 1e-6 });
  if (fit.status === 'empty' || fit.status === 'no-positives' || fit.status === 'no-negatives') return null;
  return { intercept: fit.intercept, slope: fit.coefficients[0]! };
}

function chance(c: Calibration, health: number): number {
  return sigmoid(c.intercept + c.slope * health);
}

function ranked(health: Float64Array, churned: Uint8Array): RankedOutcome[] {
  const out: RankedOutcome[] = [];
  for (let i = 0; i < health.length; i++) if (!Number.isNaN(health[i]!)) out.push({ risk: 100 - health[i]!, churned: churned[i] === 1 });
  return out;
}

function probabilities(c: Calibration, health: Float64Array, churned: Uint8Array): RankedOutcome[] {
  const out: RankedOutcome[] = [];
  for (let i = 0; i < health.length; i++) if (!Number.isNaN(health[i]!)) out.push({ risk: chance(c, health[i]!), churned: churned[i] === 1 });
  return out;
}

const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));

/**
 * Learns, calibrates and decides. Never throws on degenerate history (no
 * rows, no churn, only churn): it keeps the configured weights and says why.
 */
export function chooseHealthModel(train: HealthRows, validation: HealthRows | null, o: ChooseOptions): HealthModel {
  const configuredWeights = normalised(o.configuredWeights);
  const trainChurners = churners(train);
  const base = {
    version: 1 as const,
    horizonDays: o.horizonDays,
    churn: o.churn,
    configuredWeights,
    training: { origins: [...o.trainingOrigins], rows: train.n, churners: trainChurners },
  };
  const keepConfigured = (reason: string, extra: Partial<HealthModel> = {}): HealthModel => ({
    ...base,
    use: 'configured',
    reason,
    weights: configuredWeights,
    learnedWeights: null,
    coefficients: null,
    standardErrors: null,
    intercept: null,
    calibration: null,
    threshold: null,
    validation: null,
    warnings: [],
    ...extra,
  });
  const dates = o.trainingOrigins.length === 1 ? `${o.trainingOrigins[0]}` : `${o.trainingOrigins.length} past dates`;
  if (train.n === 0) return keepConfigured(`no history to learn from: no customer was active and scored at ${dates}; configured weights kept`);
  if (trainChurners === 0) {
    return keepConfigured(`no churn in the history (${train.n} customers over ${dates}): nothing to learn from; configured weights kept, no churn chance`);
  }
  if (trainChurners === train.n) {
    return keepConfigured(`every one of ${train.n} customers over ${dates} churned: nothing to learn from; configured weights kept, no churn chance`);
  }

  // Learn: each measure's distance from neutral, a missing measure at neutral (it says nothing either way).
  const features: number[][] = new Array(train.n);
  const labels = new Uint8Array(train.n);
  for (let i = 0; i < train.n; i++) {
    const row = new Array<number>(P);
    for (let j = 0; j < P; j++) {
      const s = train.scores[i * P + j]!;
      row[j] = Number.isNaN(s) ? 0 : s - NEUTRAL_SCORES[MEASURE_KEYS[j]!];
    }
    features[i] = row;
    labels[i] = train.churned[i]!;
  }
  const fit = fitLogistic(features, labels, { l2: o.l2, featureNames: MEASURE_KEYS });
  features.length = 0;
  const coefficients = Object.fromEntries(MEASURE_KEYS.map((k, j) => [k, fit.coefficients[j]!])) as Record<MeasureKey, number>;
  const standardErrors = Object.fromEntries(MEASURE_KEYS.map((k, j) => [k, fit.standardErrors[j] ?? null])) as Record<MeasureKey, number | null>;
  const learnedWeights = fit.status === 'ok' || fit.status === 'not-converged' ? weightsFromCoefficients(coefficients) : null;
  const warnings = [...fit.warnings];

  const trainConfigured = healthColumn(configuredWeights, train);
  const calConfigured = calibrate(trainConfigured, train.churned);
  const trainLearned = learnedWeights ? healthColumn(learnedWeights, train) : null;
  const calLearned = trainLearned ? calibrate(trainLearned, train.churned) : null;

  let v: HealthValidation | null = null;
  if (validation && validation.n > 0 && o.validationOrigin) {
    const vConfigured = healthColumn(configuredWeights, validation);
    const vLearned = learnedWeights ? healthColumn(learnedWeights, validation) : null;
    const rc = ranked(vConfigured, validation.churned);
    const rl = vLearned ? ranked(vLearned, validation.churned) : null;
    v = {
      asOf: o.validationOrigin,
      rows: validation.n,
      churners: churners(validation),
      aucConfigured: auc(rc),
      aucLearned: rl ? auc(rl) : null,
      brierConfigured: calConfigured ? brierScore(probabilities(calConfigured, vConfigured, validation.churned)) : null,
      brierLearned: calLearned && vLearned ? brierScore(probabilities(calLearned, vLearned, validation.churned)) : null,
      averagePrecisionConfigured: averagePrecision(rc),
      averagePrecisionLearned: rl ? averagePrecision(rl) : null,
    };
  }

  let use: 'learned' | 'configured' = 'configured';
  let reason: string;
  if (!learnedWeights) {
    reason = 'no measure lowered the chance of churn in the history, so no weights could be learned; configured weights kept';
  } else if (!v) {
    reason = 'no held-out date to validate the learned weights on; configured weights kept';
  } else if (v.aucLearned === null || v.aucConfigured === null) {
    reason = `the held-out date ${v.asOf} has ${v.churners === 0 ? 'no churn' : 'only churn'} among ${v.rows} customers, so the learned weights cannot be validated; configured weights kept`;
  } else if (v.aucLearned > v.aucConfigured) {
    use = 'learned';
    reason = `learned weights rank churn better on the held-out ${v.asOf} (never fitted on): AUC ${fmt(v.aucLearned)} vs ${fmt(v.aucConfigured)} for the configured weights`;
  } else {
    reason = `configured weights kept: on the held-out ${v.asOf} the learned weights rank churn no better (AUC ${fmt(v.aucLearned)} vs ${fmt(v.aucConfigured)})`;
  }

  const weights = use === 'learned' ? learnedWeights! : configuredWeights;
  const calibration = use === 'learned' ? calLearned : calConfigured;
  const trainHealth = use === 'learned' ? trainLearned! : trainConfigured;

  let threshold: HealthThreshold | null = null;
  if (calibration) {
    const scores = new Float64Array(train.n);
    for (let i = 0; i < train.n; i++) scores[i] = Number.isNaN(trainHealth[i]!) ? Number.NaN : chance(calibration, trainHealth[i]!);
    const picked = pickThresholdForPrecision(scores, train.churned, o.targetPrecision);
    if (picked) {
      let vp: number | null = null;
      let vr: number | null = null;
      if (validation && validation.n > 0) {
        const vHealth = healthColumn(weights, validation);
        let tp = 0;
        let flagged = 0;
        let positives = 0;
        for (let i = 0; i < validation.n; i++) {
          const h = vHealth[i]!;
          if (Number.isNaN(h)) continue;
          const y = validation.churned[i]!;
          positives += y;
          if (chance(calibration, h) >= picked.threshold) {
            flagged++;
            tp += y;
          }
        }
        vp = flagged > 0 ? tp / flagged : null;
        vr = positives > 0 ? tp / positives : null;
      }
      threshold = {
        probability: picked.threshold,
        targetPrecision: o.targetPrecision,
        precision: picked.precision,
        recall: picked.recall,
        validationPrecision: vp,
        validationRecall: vr,
      };
    } else {
      warnings.push(`no churn chance reaches the target precision ${(o.targetPrecision * 100).toFixed(0)}% on the history: no alert threshold`);
    }
  }

  return {
    ...base,
    use,
    reason,
    weights,
    learnedWeights,
    coefficients,
    standardErrors,
    intercept: fit.intercept,
    calibration,
    threshold,
    validation: v,
    warnings,
  };
}

/** Whether a stored model's calibration still applies under the weights configured now. */
export function calibrationApplies(model: HealthModel, configuredNow: Readonly<Record<MeasureKey, number>>): boolean {
  if (model.use === 'learned') return true;
  const now = normalised(configuredNow);
  return MEASURE_KEYS.every((k) => Math.abs((now[k] ?? 0) - (model.configuredWeights[k] ?? 0)) < 1e-9);
}

/** Reads a stored model back (details of a model_fits row), or null when it is not one. */
export function parseHealthModel(details: unknown): HealthModel | null {
  if (!details || typeof details !== 'object') return null;
  const d = details as Partial<HealthModel>;
  if (d.version !== 1 || (d.use !== 'learned' && d.use !== 'configured') || !d.weights || typeof d.horizonDays !== 'number') return null;
  for (const k of MEASURE_KEYS) if (typeof d.weights[k] !== 'number' || !Number.isFinite(d.weights[k])) return null;
  return d as HealthModel;
}

/** A score's health under other weights, from its measures (the scorecard's renormalised weighted mean); NaN when none has weight. */
export function healthOfMeasures(weights: Readonly<Record<MeasureKey, number>>, measures: readonly { key: string; score: number }[]): number {
  let sum = 0;
  let total = 0;
  for (const m of measures) {
    const w = weights[m.key as MeasureKey];
    if (!(w > 0) || !Number.isFinite(m.score)) continue;
    sum += w * m.score;
    total += w;
  }
  return total > 0 ? sum / total : Number.NaN;
}

/**
 * The churn a book supports when none is asked for: contractual churn where
 * the book records it (an account marked churned, a renewal lost), else
 * lapse for a book of orders (nobody cancels there; customers stop buying).
 */
export function defaultChurnDefinition(evidence: { contractual: boolean; orders: boolean }): { churn: ChurnDefinition; why: string } {
  if (evidence.contractual) return { churn: 'status', why: 'the book records contractual churn (accounts marked churned or renewals lost)' };
  if (evidence.orders) return { churn: 'lapse', why: 'the book records no contractual churn, so churn is read from orders' };
  return { churn: 'status', why: 'the book records neither churn nor orders yet' };
}

/** The churn definition in words, e.g. "lapse: no order within 273 days". */
export function describeChurn(churn: ChurnDefinition, horizonDays: number): string {
  return churn === 'status'
    ? `status: marked churned or a renewal lost within ${horizonDays} days`
    : `lapse: no order within ${horizonDays} days (customers with an order by then)`;
}
