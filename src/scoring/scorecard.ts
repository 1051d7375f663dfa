/**
 * The health scorecard: a weighted mean of measures, each mapped to 0–100.
 *
 * A measure without data is left out and the remaining weights are
 * re-normalised; it is never scored as zero. Measures the caller knows to be
 * stale (see `staleSources`) can be excluded the same way.
 *
 * Each measure also has a *neutral* score: what an ordinary, healthy account
 * scores on it (flat usage, no complaints, touched on cadence, …). Drivers are
 * the measures furthest from neutral, so they name what is out of the ordinary.
 *
 * Measure mappings (all clamped to 0–100):
 * - engagement: ρ = (usage last 30 days / 30) ÷ (usage previous 60 days / 60);
 *   score 80·ρ for ρ ≤ 1, rising to 100 at ρ = 1.25 (+25%); neutral 80 (flat).
 *   No usage in either window scores 0; usage only in the last 30 days, 100.
 * - purchase: from the purchase outlook (see purchase-outlook.ts), expected
 *   orders in the next 90 days E against what a new customer of the book
 *   orders, E_new: 100 · E / (E + E_new); neutral 50 (as lively as a new
 *   customer). Without an outlook, the older 100 · P(alive) — which scores
 *   every one-time buyer 100 and ranks lapse worse than chance; kept only so
 *   callers that still pass P(alive) alone keep working.
 * - complaints: 100 · 0.5^W, W = Σ 0.5^{age/half-life} over complaints in the
 *   last 90 days (a fresh complaint counts 1, one half-life old counts ½);
 *   neutral 100 (none).
 * - sentiment: 50 + 50 · mean sentiment (−1..1) of feedback in 90 days; neutral 50.
 * - cadence: 100 while the last touch is within the tier's cadence, falling
 *   linearly to 0 at three cadences; never touched scores 0; neutral 100.
 * - payments: 0, 1, 2, 3+ failures in 90 days score 100, 50, 20, 0; neutral 100.
 * - nps: 10 · latest NPS, left out when older than `npsMaxAgeDays`; neutral 70.
 */
import { describeMeasure, topDrivers, type Driver } from './drivers.js';
import { ScoringError } from './errors.js';
import type { PurchaseOutlook } from './purchase-outlook.js';
import type { ValueTier } from './tiers.js';

export const MEASURE_KEYS = ['engagement', 'purchase', 'complaints', 'sentiment', 'cadence', 'payments', 'nps'] as const;

export type MeasureKey = (typeof MEASURE_KEYS)[number];

export const MEASURE_LABELS: Readonly<Record<MeasureKey, string>> = Object.freeze({
  engagement: 'Engagement trend',
  purchase: 'Purchase liveliness',
  complaints: 'Complaints',
  sentiment: 'Feedback sentiment',
  cadence: 'Follow-up cadence',
  payments: 'Payments',
  nps: 'NPS',
});

/** The score an ordinary healthy account gets on each measure. */
export const NEUTRAL_SCORES: Readonly<Record<MeasureKey, number>> = Object.freeze({
  engagement: 80,
  purchase: 50,
  complaints: 100,
  sentiment: 50,
  cadence: 100,
  payments: 100,
  nps: 70,
});

export type Band = 'green' | 'yellow' | 'red';

export interface ScoringConfig {
  readonly weights: Readonly<Record<MeasureKey, number>>;
  /** health ≥ green → green; ≥ yellow → yellow; else red. */
  readonly bands: { readonly green: number; readonly yellow: number };
  /** Expected days between touches (calls, meetings, …) per value tier. */
  readonly cadenceDays: Readonly<Record<ValueTier, number>>;
  /** Half-life of a complaint's weight. */
  readonly complaintHalfLifeDays: number;
  /** An NPS answer older than this is left out. */
  readonly npsMaxAgeDays: number;
}

export const DEFAULT_SCORING_CONFIG: ScoringConfig = Object.freeze({
  weights: Object.freeze({
    engagement: 0.25,
    purchase: 0.2,
    complaints: 0.15,
    sentiment: 0.1,
    cadence: 0.15,
    payments: 0.1,
    nps: 0.05,
  }),
  bands: Object.freeze({ green: 70, yellow: 40 }),
  cadenceDays: Object.freeze({ A: 30, B: 90, C: 180 }),
  complaintHalfLifeDays: 30,
  npsMaxAgeDays: 365,
});

export interface ScoringConfigOverrides {
  readonly weights?: Partial<Record<MeasureKey, number>>;
  readonly bands?: Partial<ScoringConfig['bands']>;
  readonly cadenceDays?: Partial<Record<ValueTier, number>>;
  readonly complaintHalfLifeDays?: number;
  readonly npsMaxAgeDays?: number;
}

/** The defaults with some values overridden (not validated; call `validateScoringConfig`). */
export function withScoringDefaults(overrides: ScoringConfigOverrides = {}): ScoringConfig {
  const d = DEFAULT_SCORING_CONFIG;
  return {
    weights: { ...d.weights, ...overrides.weights },
    bands: { ...d.bands, ...overrides.bands },
    cadenceDays: { ...d.cadenceDays, ...overrides.cadenceDays },
    complaintHalfLifeDays: overrides.complaintHalfLifeDays ?? d.complaintHalfLifeDays,
    npsMaxAgeDays: overrides.npsMaxAgeDays ?? d.npsMaxAgeDays,
  };
}

/** Every problem with a config, as sentences; empty when the config is usable. */
export function validateScoringConfig(cfg: ScoringConfig): string[] {
  const errors: string[] = [];
  let total = 0;
  for (const key of MEASURE_KEYS) {
    const w = cfg.weights?.[key];
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      errors.push(`weights.${key} must be a number, got ${String(w)}`);
    } else if (w < 0) {
      errors.push(`weights.${key} must not be negative, got ${w}`);
    } else {
      total += w;
    }
  }
  for (const key of Object.keys(cfg.weights ?? {})) {
    if (!(MEASURE_KEYS as readonly string[]).includes(key)) {
      errors.push(`weights.${key} is not a measure (known: ${MEASURE_KEYS.join(', ')})`);
    }
  }
  if (total === 0 && errors.length === 0) errors.push('at least one weight must be positive');
  const green = cfg.bands?.green;
  const yellow = cfg.bands?.yellow;
  if (!isFiniteNumber(green) || !isFiniteNumber(yellow)) {
    errors.push('bands.green and bands.yellow must be numbers');
  } else {
    if (yellow < 0 || green > 100) errors.push(`bands must lie within 0–100 (yellow ${yellow}, green ${green})`);
    if (!(yellow < green)) errors.push(`bands.yellow (${yellow}) must be below bands.green (${green})`);
  }
  for (const tier of ['A', 'B', 'C'] as const) {
    const c = cfg.cadenceDays?.[tier];
    if (!isFiniteNumber(c) || c <= 0) errors.push(`cadenceDays.${tier} must be a positive number of days, got ${String(c)}`);
  }
  if (!isFiniteNumber(cfg.complaintHalfLifeDays) || cfg.complaintHalfLifeDays <= 0) {
    errors.push(`complaintHalfLifeDays must be positive, got ${String(cfg.complaintHalfLifeDays)}`);
  }
  if (!isFiniteNumber(cfg.npsMaxAgeDays) || cfg.npsMaxAgeDays <= 0) {
    errors.push(`npsMaxAgeDays must be positive, got ${String(cfg.npsMaxAgeDays)}`);
  }
  return errors;
}

/** Throws a SCORING_INVALID_CONFIG error listing every problem. */
export function assertValidScoringConfig(cfg: ScoringConfig): void {
  const errors = validateScoringConfig(cfg);
  if (errors.length > 0) {
    throw new ScoringError('SCORING_INVALID_CONFIG', `invalid scoring config: ${errors.join('; ')}`);
  }
}

/** What is known about a customer. Leave a field out (or null) when there is no data. */
export interface HealthInput {
  /** Sum of usage signal values in the last 30 days. */
  readonly usageLast30?: number | null;
  /** Sum of usage signal values in the 60 days before that. */
  readonly usagePrev60?: number | null;
  /** The purchase outlook from `purchaseOutlook` (BG/NBD): scores the purchase measure. */
  readonly purchaseOutlook?: PurchaseOutlook | null;
  /**
   * P(alive) from BG/NBD, used for the purchase measure only when no outlook
   * is given. Deprecated: 1 for every one-time buyer, so it cannot tell a
   * lapsed one-order customer from a new one; pass `purchaseOutlook`.
   */
  readonly pAlive?: number | null;
  /** Ages in days of the complaints in the last 90 days; [] = none (a measured zero). */
  readonly complaintAgesDays?: readonly number[] | null;
  /** Mean sentiment (−1..1) of feedback in the last 90 days. */
  readonly sentimentMean?: number | null;
  readonly sentimentCount?: number | null;
  /** How many of those were negative / positive (for the driver sentence). */
  readonly sentimentNegativeCount?: number | null;
  readonly sentimentPositiveCount?: number | null;
  /** Days since the last logged interaction; null = never touched; undefined = unknown. */
  readonly daysSinceLastTouch?: number | null;
  /** Value tier; unknown is treated as C (as the tier rules do for unknown value). */
  readonly tier?: ValueTier | null;
  readonly paymentFailures90d?: number | null;
  /** Latest NPS answer, 0–10. */
  readonly latestNps?: number | null;
  readonly latestNpsAgeDays?: number | null;
}

/** What the purchase sentence needs from the outlook. */
export interface PurchaseOutlookDetail {
  readonly horizonDays: number;
  readonly expectedOrders: number;
  readonly usualOrders: number;
  readonly usualBasis: 'own-pace' | 'new-customer';
  readonly repeatOrders: number;
  readonly daysSinceLastOrder: number;
}

export type MeasureDetail =
  | {
      readonly key: 'engagement';
      readonly usageLast30: number;
      readonly usagePrev60: number;
      readonly dailyRateLast30: number;
      readonly dailyRatePrev60: number;
      /** % change of the daily rate; null when the previous rate is 0. */
      readonly changePct: number | null;
    }
  | {
      readonly key: 'purchase';
      readonly pAlive: number;
      /** Null when the measure came from P(alive) alone. */
      readonly outlook: PurchaseOutlookDetail | null;
    }
  | { readonly key: 'complaints'; readonly count90: number; readonly count30: number; readonly weighted: number }
  | {
      readonly key: 'sentiment';
      readonly mean: number;
      readonly count: number | null;
      readonly negative: number | null;
      readonly positive: number | null;
    }
  | {
      readonly key: 'cadence';
      readonly daysSinceLastTouch: number | null;
      readonly tier: ValueTier;
      readonly expectedEveryDays: number;
    }
  | { readonly key: 'payments'; readonly failures90d: number }
  | {
      readonly key: 'nps';
      readonly nps: number;
      readonly ageDays: number | null;
      readonly category: 'detractor' | 'passive' | 'promoter';
    };

export interface Measure {
  readonly key: MeasureKey;
  readonly label: string;
  /** 0–100. */
  readonly score: number;
  readonly neutral: number;
  /** Weight after re-normalising over the measures present (sums to 1). */
  readonly weight: number;
  /** Weight as configured. */
  readonly configuredWeight: number;
  /** weight × (score − neutral), in health points. */
  readonly impact: number;
  readonly detail: MeasureDetail;
  /** The measure as a sentence, e.g. "usage down 42% vs the previous 60 days". */
  readonly text: string;
}

export interface HealthScore {
  /** 0–100, integer; null when no measure has data. */
  readonly health: number | null;
  readonly band: Band | null;
  readonly measures: readonly Measure[];
  /** Top 3 measures by |impact|. */
  readonly drivers: readonly Driver[];
  /** Measures without data. */
  readonly missing: readonly MeasureKey[];
  /** Measures that had data but were excluded by the caller (e.g. stale source). */
  readonly excluded: readonly MeasureKey[];
}

export interface ScoreHealthOptions {
  readonly config?: ScoringConfig;
  /** Measures to leave out, e.g. those fed by a stale source. */
  readonly exclude?: ReadonlySet<MeasureKey> | readonly MeasureKey[];
}

type RawMeasure = { readonly score: number; readonly detail: MeasureDetail };

/** The band of a health score under the configured thresholds. */
export function bandFor(health: number, config: ScoringConfig = DEFAULT_SCORING_CONFIG): Band {
  if (health >= config.bands.green) return 'green';
  if (health >= config.bands.yellow) return 'yellow';
  return 'red';
}

export function scoreHealth(input: HealthInput, options: ScoreHealthOptions = {}): HealthScore {
  const config = options.config ?? DEFAULT_SCORING_CONFIG;
  const exclude = new Set<MeasureKey>(options.exclude ?? []);
  const raw = rawMeasures(input, config);
  const missing: MeasureKey[] = [];
  const excluded: MeasureKey[] = [];
  const present: { key: MeasureKey; m: RawMeasure }[] = [];
  for (const key of MEASURE_KEYS) {
    const m = raw[key];
    if (!m) missing.push(key);
    else if (exclude.has(key)) excluded.push(key);
    else present.push({ key, m });
  }
  // A weight that is negative or not a number counts as 0 (validation reports it).
  const weightOf = (key: MeasureKey): number => {
    const w = config.weights[key];
    return Number.isFinite(w) && w > 0 ? w : 0;
  };
  let totalWeight = 0;
  for (const { key } of present) totalWeight += weightOf(key);
  const measures: Measure[] = present.map(({ key, m }) => {
    const configuredWeight = weightOf(key);
    const weight = totalWeight > 0 ? configuredWeight / totalWeight : 0;
    const neutral = NEUTRAL_SCORES[key];
    return {
      key,
      label: MEASURE_LABELS[key],
      score: m.score,
      neutral,
      weight,
      configuredWeight,
      impact: weight * (m.score - neutral),
      detail: m.detail,
      text: describeMeasure(m.detail),
    };
  });
  if (totalWeight === 0) {
    return { health: null, band: null, measures, drivers: [], missing, excluded };
  }
  let sum = 0;
  for (const m of measures) sum += m.weight * m.score;
  const health = Math.min(100, Math.max(0, Math.round(sum)));
  return { health, band: bandFor(health, config), measures, drivers: topDrivers(measures), missing, excluded };
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function finite(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : Math.min(v, hi);
}

export function npsCategory(nps: number): 'detractor' | 'passive' | 'promoter' {
  return nps >= 9 ? 'promoter' : nps >= 7 ? 'passive' : 'detractor';
}

function rawMeasures(input: HealthInput, config: ScoringConfig): Partial<Record<MeasureKey, RawMeasure>> {
  const out: Partial<Record<MeasureKey, RawMeasure>> = {};

  const last30 = finite(input.usageLast30);
  const prev60 = finite(input.usagePrev60);
  if (last30 !== null && prev60 !== null) {
    const l = Math.max(0, last30);
    const p = Math.max(0, prev60);
    const rateNow = l / 30;
    const ratePrev = p / 60;
    let score: number;
    let changePct: number | null = null;
    if (ratePrev === 0) {
      score = rateNow > 0 ? 100 : 0;
    } else {
      const rho = rateNow / ratePrev;
      changePct = (rho - 1) * 100;
      score = rho <= 1 ? 80 * rho : clamp(80 + 80 * (rho - 1), 0, 100);
    }
    out.engagement = {
      score,
      detail: { key: 'engagement', usageLast30: l, usagePrev60: p, dailyRateLast30: rateNow, dailyRatePrev60: ratePrev, changePct },
    };
  }

  const outlook = input.purchaseOutlook ?? null;
  const pAlive = finite(input.pAlive);
  if (outlook !== null && finite(outlook.score) !== null && finite(outlook.expectedOrders) !== null && finite(outlook.usualOrders) !== null) {
    out.purchase = {
      score: clamp(outlook.score, 0, 100),
      detail: {
        key: 'purchase',
        pAlive: clamp(outlook.pAlive, 0, 1),
        outlook: {
          horizonDays: outlook.horizonDays,
          expectedOrders: outlook.expectedOrders,
          usualOrders: outlook.usualOrders,
          usualBasis: outlook.usualBasis,
          repeatOrders: outlook.repeatOrders,
          daysSinceLastOrder: outlook.daysSinceLastOrder,
        },
      },
    };
  } else if (pAlive !== null) {
    const p = clamp(pAlive, 0, 1);
    out.purchase = { score: 100 * p, detail: { key: 'purchase', pAlive: p, outlook: null } };
  }

  if (Array.isArray(input.complaintAgesDays)) {
    let weighted = 0;
    let count90 = 0;
    let count30 = 0;
    for (const age of input.complaintAgesDays as readonly number[]) {
      if (!Number.isFinite(age)) continue;
      const a = Math.max(0, age);
      if (a > 90) continue;
      count90++;
      if (a <= 30) count30++;
      weighted += 0.5 ** (a / config.complaintHalfLifeDays);
    }
    out.complaints = {
      score: 100 * 0.5 ** weighted,
      detail: { key: 'complaints', count90, count30, weighted },
    };
  }

  const sentiment = finite(input.sentimentMean);
  const sentimentCount = finite(input.sentimentCount);
  if (sentiment !== null && (sentimentCount === null || sentimentCount > 0)) {
    const mean = clamp(sentiment, -1, 1);
    const count = sentimentCount === null ? null : Math.round(sentimentCount);
    const negative = finite(input.sentimentNegativeCount);
    const positive = finite(input.sentimentPositiveCount);
    out.sentiment = {
      score: 50 + 50 * mean,
      detail: {
        key: 'sentiment',
        mean,
        count,
        negative: negative === null ? null : Math.max(0, Math.round(negative)),
        positive: positive === null ? null : Math.max(0, Math.round(positive)),
      },
    };
  }

  if (input.daysSinceLastTouch !== undefined) {
    const tier: ValueTier = input.tier ?? 'C';
    const cadence = config.cadenceDays[tier];
    const days = input.daysSinceLastTouch === null ? null : finite(input.daysSinceLastTouch);
    if (input.daysSinceLastTouch === null || days !== null) {
      let score: number;
      if (days === null) score = 0;
      else {
        const d = Math.max(0, days);
        score = d <= cadence ? 100 : clamp((100 * (3 * cadence - d)) / (2 * cadence), 0, 100);
      }
      out.cadence = {
        score,
        detail: { key: 'cadence', daysSinceLastTouch: days === null ? null : Math.max(0, days), tier, expectedEveryDays: cadence },
      };
    }
  }

  const failures = finite(input.paymentFailures90d);
  if (failures !== null) {
    const n = Math.max(0, Math.round(failures));
    const scores = [100, 50, 20, 0] as const;
    out.payments = { score: scores[Math.min(n, 3)]!, detail: { key: 'payments', failures90d: n } };
  }

  const nps = finite(input.latestNps);
  const npsAge = finite(input.latestNpsAgeDays);
  if (nps !== null && (npsAge === null || npsAge <= config.npsMaxAgeDays)) {
    const v = clamp(Math.round(nps), 0, 10);
    out.nps = { score: 10 * v, detail: { key: 'nps', nps: v, ageDays: npsAge, category: npsCategory(v) } };
  }

  return out;
}
