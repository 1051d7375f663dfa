/**
 * Pure: one customer's aggregated facts (from the batch's set-based query) and
 * the run's shared context in, one score row out. No database, no clock.
 */
import {
  conditionalExpectedOrderValue,
  customerLifetimeValue,
  purchaseOutlook,
  rfmSegment,
  scoreHealth,
  WEEKS_PER_YEAR,
  type BgNbdParams,
  type GammaGammaParams,
  type HealthInput,
  type MeasureKey,
  type PurchaseOutlook,
  type Quintile,
  type ScoringConfig,
  type ValueTier,
  sigmoid,
} from '../scoring/index.js';
import type { Band, StoredDriver, StoredMeasure, Tier } from './score.table.js';

/** What the batch query knows about one customer as of the run's as-of time. */
export interface CustomerFacts {
  customerId: string;
  /** Purchase-day summary (same-day orders merged); x null = no orders. Days are whole UTC days. */
  x: number | null;
  txDays: number | null;
  TDays: number | null;
  /** Mean value per repeat purchase day (0 when x = 0). */
  meanRepeat: number | null;
  /** Whether the customer ever had a usage signal (on or before as-of). */
  hasUsage: boolean;
  usageLast30: number;
  usagePrev60: number;
  /** Ages in days of complaints (signals and complaint feedback) within 90 days. */
  complaintAgesDays: number[];
  paymentFailures90d: number;
  latestNps: number | null;
  latestNpsAgeDays: number | null;
  feedbackCount90d: number;
  sentimentMean90d: number | null;
  sentimentNegative90d: number;
  sentimentPositive90d: number;
  /** Days since the last logged interaction; null = never touched. */
  daysSinceLastTouch: number | null;
  /** Newest signal, feedback or interaction behind the score; null = no data at all. */
  newestDataAt: Date | null;
  rfm: { r: Quintile; f: Quintile; m: Quintile } | null;
  tier: ValueTier | null;
  /**
   * Not a scoring input: the customer's data_changed_at as read with these
   * facts (stored as the score's data_seen_at), as Postgres text — exact to
   * the microsecond, which a Date is not.
   */
  dataChangedAt?: string | null;
}

/** Which feeds exist in the book at all (as of the run): absent feeds are missing measures, not zeros. */
export interface FeedPresence {
  complaints: boolean;
  payments: boolean;
  interactions: boolean;
}

export interface RunScoringInputs {
  config: ScoringConfig;
  bgnbd: BgNbdParams | null;
  gammagamma: GammaGammaParams | null;
  feeds: FeedPresence;
  /** Measures left out for every customer because their feed is stale. */
  excluded: readonly MeasureKey[];
  /** Sentences naming the stale feeds, shown on every card of the run. */
  staleTexts: readonly string[];
  clv: { horizonMonths: number; annualDiscountRate: number };
  /** The health model's calibration: the chance of churn within its horizon from the health score; absent without a model. */
  churn?: ChurnCalibration | null;
}

/** P(churn within horizonDays) = σ(intercept + slope · health), health unrounded (0–100). */
export interface ChurnCalibration {
  readonly intercept: number;
  readonly slope: number;
  readonly horizonDays: number;
}

export function churnChance(calibration: ChurnCalibration, health: number): number {
  return sigmoid(calibration.intercept + calibration.slope * health);
}

export interface ComputedScore {
  customerId: string;
  health: number;
  /** The weighted mean before rounding: what rankings and the churn chance use (scoreCustomer always sets it). */
  healthExact?: number;
  band: Band;
  /** Chance of churn within the health model's horizon; null or absent without a calibrated model. */
  churnProbability?: number | null;
  churnHorizonDays?: number | null;
  pAlive: number | null;
  expectedOrders90d: number | null;
  clv: number | null;
  rfmR: number | null;
  rfmF: number | null;
  rfmM: number | null;
  rfmSegment: string | null;
  tier: Tier | null;
  drivers: StoredDriver[];
  measures: StoredMeasure[];
  stale: string[];
  newestDataAt: Date | null;
}

const WEEK_DAYS = 7;

/**
 * Largest dropout shape `a` the scoring uses. When a fit drives a (and b) to
 * huge values, Beta(a, b) is a point mass at p = a/(a+b) for every practical
 * purpose, but the hypergeometric series behind E[Y(t)] then needs ~a terms
 * (and overflows): with a = 2·10⁹ a single call takes milliseconds and
 * returns NaN. Scaling a and b down together to a = 1000 keeps the mean
 * dropout probability exactly and changes P(alive) by well under 0.1%.
 */
export const MAX_DROPOUT_SHAPE = 1000;

/**
 * Below this mean dropout probability per purchase, a/(a+b), the fitted
 * BG/NBD says nobody ever drops out — typical of invoice-like, very regular
 * purchasing, which the model cannot describe — and P(alive) is ~1 for every
 * customer, including those who stopped ordering months ago. Such a fit tells
 * nothing about liveliness: P(alive) is left out (stored as unknown, the
 * purchase measure missing) rather than shown as "still ordering".
 */
export const MIN_MEAN_DROPOUT = 1e-4;

/** Whether a fitted BG/NBD can tell live customers from lapsed ones (see MIN_MEAN_DROPOUT). */
export function pAliveInformative(params: BgNbdParams | null): boolean {
  return params !== null && params.a / (params.a + params.b) >= MIN_MEAN_DROPOUT;
}

export function tameBgNbd(params: BgNbdParams | null): BgNbdParams | null {
  if (!params || !(params.a > MAX_DROPOUT_SHAPE)) return params;
  const scale = params.a / MAX_DROPOUT_SHAPE;
  return { ...params, a: MAX_DROPOUT_SHAPE, b: params.b / scale };
}

/** What the purchase model says about one (x, t_x, T) pattern. */
export interface PatternValues {
  pAlive: number;
  /** The purchase measure's outlook: expected orders in the next 90 days against a new customer's. */
  outlook: PurchaseOutlook;
  discountedPurchases: number | null;
}

/**
 * Per-batch cache of model values by purchase pattern: with day-granular data
 * many customers share (x, t_x, T), and CLV is linear in the expected order
 * value, so the series behind it is summed once per pattern.
 */
export type PatternMemo = Map<string, PatternValues>;

export function newPatternMemo(): PatternMemo {
  return new Map();
}

function finiteOrNull(v: number | null, digits: number): number | null {
  return v !== null && Number.isFinite(v) ? round(v, digits) : null;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function patternValues(inputs: RunScoringInputs, memo: PatternMemo, x: number, txDays: number, TDays: number): PatternValues | null {
  const bg = inputs.bgnbd;
  if (!bg) return null;
  const key = `${x}|${txDays}|${TDays}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const tx = txDays / WEEK_DAYS;
  const T = TDays / WEEK_DAYS;
  // E[Y(90 days) | x, t_x, T] and P(alive) in one place; the outlook's score ranks.
  const outlook = purchaseOutlook(bg, x, tx, T, { horizonDays: 90, unitDays: WEEK_DAYS });
  let discountedPurchases: number | null = null;
  if (inputs.gammagamma) {
    // Σ_k ΔE[Y(t_k)] · discount_k, i.e. CLV per unit of expected order
    // value: with p = 1, q = 2, γ = 1 and mean 1 the expected order value is
    // exactly 1, so the CLV routine returns the discounted purchases alone.
    const r = customerLifetimeValue({
      bgnbd: bg,
      gg: { p: 1, q: 2, gamma: 1 },
      x,
      tx,
      T,
      mean: 1,
      horizonWeeks: (inputs.clv.horizonMonths * WEEKS_PER_YEAR) / 12,
      annualDiscountRate: inputs.clv.annualDiscountRate,
    });
    discountedPurchases = r.expectedOrderValue > 0 ? r.clv / r.expectedOrderValue : 0;
  }
  const v = { pAlive: outlook.pAlive, outlook, discountedPurchases };
  memo.set(key, v);
  return v;
}

/**
 * The score of one customer, or null when nothing is known about them yet
 * (no signal, feedback or interaction on or before as-of): the card then says
 * "not scored yet" instead of showing a score made of absences.
 */
export function scoreCustomer(facts: CustomerFacts, inputs: RunScoringInputs, memo: PatternMemo = newPatternMemo()): ComputedScore | null {
  if (facts.newestDataAt === null) return null;

  let pAlive: number | null = null;
  let outlook: PurchaseOutlook | null = null;
  let expectedOrders90d: number | null = null;
  let clv: number | null = null;
  if (facts.x !== null && facts.txDays !== null && facts.TDays !== null) {
    const pattern = patternValues(inputs, memo, facts.x, facts.txDays, facts.TDays);
    if (pattern) {
      // A fit that sees no dropout cannot tell lapsed customers from live
      // ones: P(alive) and the purchase measure are left out (unknown).
      if (pAliveInformative(inputs.bgnbd)) {
        pAlive = pattern.pAlive;
        outlook = pattern.outlook;
      }
      expectedOrders90d = pattern.outlook.expectedOrders;
      if (pattern.discountedPurchases !== null && inputs.gammagamma) {
        try {
          const eov = conditionalExpectedOrderValue(inputs.gammagamma, facts.x, facts.x === 0 ? 0 : (facts.meanRepeat ?? 0));
          clv = eov * pattern.discountedPurchases;
          if (!Number.isFinite(clv)) clv = null;
        } catch {
          clv = null; // p·x + q ≤ 1: the fit cannot value this customer
        }
      }
    }
  }

  const tier = facts.tier;
  const input: HealthInput = {
    usageLast30: facts.hasUsage ? facts.usageLast30 : null,
    usagePrev60: facts.hasUsage ? facts.usagePrev60 : null,
    // Expected orders in the next 90 days against a new customer's, for
    // one-time buyers too: their expectation falls as they stay quiet, where
    // P(alive) — 1 for every one-time buyer by the model's assumption — scored
    // them all 100.
    purchaseOutlook: outlook,
    complaintAgesDays: inputs.feeds.complaints ? facts.complaintAgesDays : null,
    sentimentMean: facts.feedbackCount90d > 0 ? facts.sentimentMean90d : null,
    sentimentCount: facts.feedbackCount90d,
    sentimentNegativeCount: facts.sentimentNegative90d,
    sentimentPositiveCount: facts.sentimentPositive90d,
    ...(inputs.feeds.interactions ? { daysSinceLastTouch: facts.daysSinceLastTouch } : {}),
    tier,
    paymentFailures90d: inputs.feeds.payments ? facts.paymentFailures90d : null,
    latestNps: facts.latestNps,
    latestNpsAgeDays: facts.latestNpsAgeDays,
  };
  const scored = scoreHealth(input, { config: inputs.config, exclude: inputs.excluded });
  if (scored.health === null || scored.band === null) return null;

  let healthExact = 0;
  for (const m of scored.measures) healthExact += m.weight * m.score;
  healthExact = Math.min(100, Math.max(0, healthExact));
  const churn = inputs.churn ?? null;
  const churnProbability = churn ? churnChance(churn, healthExact) : null;

  const rfm = facts.rfm;
  return {
    customerId: facts.customerId,
    health: scored.health,
    healthExact,
    band: scored.band,
    churnProbability: finiteOrNull(churnProbability, 4),
    churnHorizonDays: churn && churnProbability !== null && Number.isFinite(churnProbability) ? churn.horizonDays : null,
    // Degenerate fits (parameters at the optimizer's wall) can make the series
    // behind these non-finite: stored as unknown rather than as a number.
    pAlive: finiteOrNull(pAlive, 6),
    expectedOrders90d: finiteOrNull(expectedOrders90d, 4),
    clv: finiteOrNull(clv, 2),
    rfmR: rfm?.r ?? null,
    rfmF: rfm?.f ?? null,
    rfmM: rfm?.m ?? null,
    rfmSegment: rfm ? rfmSegment(rfm.r, Math.floor((rfm.f + rfm.m + 1) / 2) as Quintile) : null,
    tier,
    drivers: scored.drivers.map((d) => ({ key: d.key, direction: d.direction, impact: round(d.impact, 2), text: d.text })),
    measures: scored.measures.map((m) => ({ key: m.key, score: round(m.score, 1), weight: round(m.weight, 4), impact: round(m.impact, 2) })),
    stale: [...inputs.staleTexts],
    newestDataAt: facts.newestDataAt,
  };
}
