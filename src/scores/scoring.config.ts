import { ConfigError } from '../config/env.js';
import type { FileConfig } from '../config/file.js';
import { validateScoringConfig, withScoringDefaults, type ScoringConfig, type TierThresholds } from '../scoring/index.js';

/**
 * The `scoring` section of RETAIN_CONFIG mapped onto what the scoring code
 * uses. The pure scorecard calls its lower band threshold `yellow` (health ≥
 * yellow is yellow); the config file calls the same number `bands.red`
 * (below it is red): green ≥ 70, yellow 40–69, red < 40 by default.
 */
export interface ScoringSettings {
  readonly health: ScoringConfig;
  readonly tiers: TierThresholds;
  readonly staleAfterDays: number;
  readonly clv: { readonly horizonMonths: number; readonly annualDiscountRate: number };
  readonly batchSize: number;
  readonly churnModel: ChurnModelSettings;
}

/** How `retain fit` learns the health model (see health-fit.service.ts). */
export interface ChurnModelSettings {
  /** Churn is predicted within this many days (the card's "chance of churn in the next N days"). */
  readonly horizonDays: number;
  /** Past as-of dates replayed, one horizon apart; the latest is held out for validation. */
  readonly origins: number;
  readonly churn: 'auto' | 'status' | 'lapse';
  /** The alert threshold is the churn chance that reaches this precision on the history. */
  readonly targetPrecision: number;
  readonly l2: number;
  /** Customers replayed per origin at most (whole batches, evenly spread): bounds the fit's time and memory. */
  readonly sampleCustomers: number;
}

type ScoringSection = FileConfig['scoring'];

/**
 * Validates and maps the scoring settings. Throws ConfigError with one line per
 * problem, each naming the setting (`invalid RETAIN_CONFIG setting
 * scoring.weights.engagement: …`). The composition root calls this at start-up
 * so a bad config stops the process before any job runs.
 */
export function scoringConfigFrom(settings: Pick<FileConfig, 'scoring'>): ScoringSettings {
  const s: ScoringSection = settings.scoring;
  const lines: string[] = [];
  const health = withScoringDefaults({
    weights: { ...s.weights },
    bands: { green: s.bands?.green, yellow: s.bands?.red } as { green: number; yellow: number },
    cadenceDays: { ...s.cadenceDays },
  });
  for (const problem of validateScoringConfig(health)) lines.push(settingLine(problem));
  const a = s.tierShares?.A;
  const b = s.tierShares?.B;
  if (!(typeof a === 'number' && typeof b === 'number' && a > 0 && a <= b && b <= 1)) {
    lines.push(`invalid RETAIN_CONFIG setting scoring.tierShares: need 0 < A ≤ B ≤ 1 (A ${String(a)}, B ${String(b)})`);
  }
  if (!(Number.isInteger(s.batchSize) && s.batchSize > 0)) {
    lines.push(`invalid RETAIN_CONFIG setting scoring.batchSize: must be a positive whole number, got ${String(s.batchSize)}`);
  }
  if (!(typeof s.staleAfterDays === 'number' && s.staleAfterDays > 0)) {
    lines.push(`invalid RETAIN_CONFIG setting scoring.staleAfterDays: must be a positive number of days, got ${String(s.staleAfterDays)}`);
  }
  const clv = s.clv;
  if (!(clv && clv.horizonMonths > 0 && clv.annualDiscountRate >= 0 && clv.annualDiscountRate < 10)) {
    lines.push('invalid RETAIN_CONFIG setting scoring.clv: horizonMonths must be > 0 and annualDiscountRate ≥ 0');
  }
  if (lines.length > 0) throw new ConfigError(lines);
  return Object.freeze({
    health,
    tiers: Object.freeze({ a: a!, b: b! }),
    staleAfterDays: s.staleAfterDays,
    clv: Object.freeze({ horizonMonths: clv.horizonMonths, annualDiscountRate: clv.annualDiscountRate }),
    batchSize: s.batchSize,
    churnModel: Object.freeze({ ...s.churnModel }),
  });
}

/** "weights.nps must not be negative, got -1" → "invalid RETAIN_CONFIG setting scoring.weights.nps: must not be negative, got -1". */
function settingLine(problem: string): string {
  const renamed = problem.replace(/\bbands\.yellow\b/g, 'bands.red');
  const m = /^([a-zA-Z]+(?:\.[a-zA-Z]+)*(?: and [a-zA-Z.]+)?) (.*)$/.exec(renamed);
  if (m && m[1]!.includes('.')) return `invalid RETAIN_CONFIG setting scoring.${m[1]}: ${m[2]!.replace(/^\((\S+)\) /, '$1 ')}`;
  if (/weight/.test(renamed)) return `invalid RETAIN_CONFIG setting scoring.weights: ${renamed}`;
  if (/band/.test(renamed)) return `invalid RETAIN_CONFIG setting scoring.bands: ${renamed}`;
  return `invalid RETAIN_CONFIG setting scoring: ${renamed}`;
}
