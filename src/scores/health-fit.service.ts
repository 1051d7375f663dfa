import { DAY_MS, isoDate } from '../platform/clock.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { MEASURE_KEYS, MEASURE_LABELS, sigmoid } from '../scoring/index.js';
import { bookChurnEvidence } from './backtest.repository.js';
import { insertFit } from './fit.repository.js';
import {
  chooseHealthModel,
  concatRows,
  defaultChurnDefinition,
  describeChurn,
  healthRowBuilder,
  type ChurnDefinition,
  type HealthModel,
  type HealthRows,
} from './health-model.rules.js';
import { inReplayTransaction, replayAt } from './replay.service.js';
import type { ScoringSettings } from './scoring.config.js';

/**
 * The health model learned from the book's own history (rolling origins):
 * the scoring is replayed at several past dates, one horizon apart, each with
 * only the data known then; every customer active at a date is judged by
 * whether they churned within the horizon after it. The latest date is held
 * out: the weights are learned and calibrated on the earlier ones, and must
 * rank churn better on the held-out one than the configured weights do to be
 * used. All labels end by as-of, so the fit sees nothing after it.
 *
 * Each date is one replay in its own transaction, batch by batch; at most
 * `sampleCustomers` customers per date (whole batches spread over the book)
 * are kept, as typed-array rows, so time and memory stay bounded on a book of
 * millions — a logistic model of seven measures is settled long before that.
 */
export interface HealthFitOptions {
  /** Store the fit in model_fits (it is then the model in use); false for backtests. */
  store: boolean;
  now: Date;
  logger?: Logger;
  /** Overrides of scoring.churnModel (a backtest judges by its own horizon and churn). */
  churn?: ChurnDefinition | 'auto';
  horizonDays?: number;
}

export interface OriginReport {
  asOf: string;
  role: 'train' | 'validation';
  /** Customers active at the date. */
  population: number;
  /** Of those, replayed (sampled batches). */
  replayed: number;
  /** Scored and judged: the rows the model saw. */
  rows: number;
  churners: number;
  ms: number;
}

export interface HealthFitReport {
  asOf: Date;
  asOfDate: string;
  churn: ChurnDefinition;
  churnWhy: string;
  horizonDays: number;
  origins: OriginReport[];
  model: HealthModel;
  stored: boolean;
  fitId: string | null;
  ms: number;
}

/** Past as-of dates one horizon apart, latest first: as-of − h, − 2h, … */
export function rollingOrigins(asOf: Date, horizonDays: number, count: number): Date[] {
  return Array.from({ length: count }, (_, k) => new Date(asOf.getTime() - (k + 1) * horizonDays * DAY_MS));
}

export async function resolveChurn(db: Db, asked: ChurnDefinition | 'auto'): Promise<{ churn: ChurnDefinition; why: string }> {
  if (asked !== 'auto') return { churn: asked, why: 'as asked' };
  return defaultChurnDefinition(await bookChurnEvidence(db));
}

export async function fitHealthModel(db: Db, settings: ScoringSettings, asOf: Date, opts: HealthFitOptions): Promise<HealthFitReport> {
  const started = performance.now();
  const cm = settings.churnModel;
  const horizonDays = opts.horizonDays ?? cm.horizonDays;
  const { churn, why } = await resolveChurn(db, opts.churn ?? cm.churn);
  const origins = rollingOrigins(asOf, horizonDays, cm.origins);
  const parts: { rows: HealthRows; report: OriginReport }[] = [];
  for (const [k, origin] of origins.entries()) {
    const t0 = performance.now();
    const rows = healthRowBuilder();
    let churners = 0;
    const summary = await inReplayTransaction(db, (trx) =>
      replayAt(trx, { key: String(k + 1), asOf: origin, settings, now: opts.now, label: { churn, horizonDays }, maxCustomers: cm.sampleCustomers }, (c) => {
        if (!c.score || c.churned === null) return;
        rows.add(c.score.measures, c.score.healthExact ?? c.score.health, c.churned);
        if (c.churned) churners++;
      }),
    );
    const report: OriginReport = {
      asOf: isoDate(origin),
      role: k === 0 ? 'validation' : 'train',
      population: summary.population,
      replayed: summary.replayed,
      rows: rows.size,
      churners,
      ms: performance.now() - t0,
    };
    parts.push({ rows: rows.rows(), report });
    opts.logger?.info({ origin: report.asOf, role: report.role, rows: report.rows, churners, ms: Math.round(report.ms) }, 'health model: date replayed');
  }
  const [validation, ...training] = parts;
  const model = chooseHealthModel(concatRows(training.map((p) => p.rows)), validation?.rows ?? null, {
    horizonDays,
    churn,
    configuredWeights: settings.health.weights,
    l2: cm.l2,
    targetPrecision: cm.targetPrecision,
    trainingOrigins: training.map((p) => p.report.asOf),
    validationOrigin: validation?.report.asOf ?? null,
  });
  const report: HealthFitReport = {
    asOf,
    asOfDate: isoDate(asOf),
    churn,
    churnWhy: why,
    horizonDays,
    origins: parts.map((p) => p.report),
    model,
    stored: false,
    fitId: null,
    ms: 0,
  };
  if (opts.store) {
    report.fitId = await insertFit(db, {
      model: 'health',
      params: healthParams(model),
      details: model as unknown as Record<string, unknown>,
      logLikelihood: null,
      customers: model.training.rows,
      asOf: report.asOfDate,
      fittedAt: opts.now,
    });
    report.stored = true;
  }
  report.ms = performance.now() - started;
  return report;
}

/** The fit's headline figures as flat numbers (model_fits.params), for queries across fits. */
function healthParams(m: HealthModel): Record<string, number> {
  const p: Record<string, number> = { learned: m.use === 'learned' ? 1 : 0, horizon_days: m.horizonDays, rows: m.training.rows, churners: m.training.churners };
  if (m.validation?.aucLearned != null) p.auc_learned = m.validation.aucLearned;
  if (m.validation?.aucConfigured != null) p.auc_configured = m.validation.aucConfigured;
  if (m.calibration) {
    p.calibration_intercept = m.calibration.intercept;
    p.calibration_slope = m.calibration.slope;
  }
  if (m.threshold) p.threshold = m.threshold.probability;
  for (const k of MEASURE_KEYS) p[`w_${k}`] = m.weights[k];
  return p;
}

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(digits)}%`);
const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));

/** Lines for `retain fit` (and the backtest's note on the model it replayed with). */
export function formatHealthFit(r: HealthFitReport): string[] {
  const m = r.model;
  const lines = [`health model as of ${r.asOfDate}, ${(r.ms / 1000).toFixed(1)}s — churn ${describeChurn(r.churn, r.horizonDays)}: ${r.churnWhy}`];
  for (const o of r.origins) {
    lines.push(
      `  ${o.role === 'validation' ? 'held out' : 'fitted  '} ${o.asOf}: ${o.rows} customers judged, ${o.churners} churned` +
        (o.replayed < o.population ? ` (sample of ${o.replayed} of ${o.population} active)` : ` (of ${o.population} active)`),
    );
  }
  lines.push(`  ${m.use === 'learned' ? 'USING LEARNED WEIGHTS' : 'using the configured weights'}: ${m.reason}`);
  if (m.coefficients) {
    lines.push('  measure              learned weight  configured  log-odds per point (± s.e.)');
    for (const k of MEASURE_KEYS) {
      const se = m.standardErrors?.[k];
      lines.push(
        `  ${MEASURE_LABELS[k].padEnd(20)} ${pct(m.learnedWeights?.[k], 0).padStart(14)}  ${pct(m.configuredWeights[k], 0).padStart(10)}  ` +
          `${m.coefficients[k]!.toFixed(4).padStart(8)}${se != null ? ` ± ${se.toFixed(4)}` : ''}`,
      );
    }
  }
  const v = m.validation;
  if (v) {
    lines.push(
      `  held-out ${v.asOf}: ${v.rows} customers, ${v.churners} churned — AUC learned ${num(v.aucLearned)} vs configured ${num(v.aucConfigured)}; ` +
        `PR-AUC ${num(v.averagePrecisionLearned)} vs ${num(v.averagePrecisionConfigured)}; Brier ${num(v.brierLearned, 4)} vs ${num(v.brierConfigured, 4)}`,
    );
  }
  if (m.calibration) {
    lines.push(
      `  chance of churn in ${m.horizonDays} days = σ(${m.calibration.intercept.toFixed(3)} ${m.calibration.slope < 0 ? '−' : '+'} ${Math.abs(m.calibration.slope).toFixed(4)} × health)` +
        ` — e.g. health 30 → ${pct(sigmoid(m.calibration.intercept + 30 * m.calibration.slope))}, 70 → ${pct(sigmoid(m.calibration.intercept + 70 * m.calibration.slope))}`,
    );
  } else {
    lines.push('  no calibrated chance of churn: the card shows none');
  }
  if (m.threshold) {
    const t = m.threshold;
    lines.push(
      `  alert threshold: chance of churn ≥ ${pct(t.probability)} reaches precision ${pct(t.precision)} (target ${pct(t.targetPrecision, 0)}), recall ${pct(t.recall)} on the fitted dates; ` +
        `held out: precision ${pct(t.validationPrecision)}, recall ${pct(t.validationRecall)}`,
    );
  }
  for (const w of m.warnings) lines.push(`  note: ${w}`);
  lines.push(r.stored ? `  stored as fit ${r.fitId}; the next scoring run uses it` : '  not stored');
  return lines;
}
