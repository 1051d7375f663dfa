import { formatMoney } from '../customers/format.js';
import { isoDate } from '../platform/clock.js';
import type { DbOrTrx } from '../platform/db.js';
import { insertFit, latestFit } from '../scores/fit.repository.js';
import { contractObservationCounts, decidedBetween, openRenewalsBetween, type LeftOut } from './renewal-model.repository.js';
import {
  fitRenewalModel,
  forecastOpenRenewals,
  parseRenewalModel,
  type OpenRenewalsForecast,
  type RenewalModel,
  type RetentionModelKind,
  type SegmentBy,
  type SegmentFit,
} from './renewal-model.rules.js';

/**
 * `retain renewals fit` and `retain renewals forecast`: the contractual
 * renewal model (sBG, or BdW) fitted by segment from contract starts and
 * churns, stored in model_fits (kind renewal), and the forecast of a
 * quarter's open renewals by team and segment from the latest fit.
 */
export interface RenewalSettings {
  discountRate: number;
  forecastLevel: number;
  healthWeight: number;
}

export interface RenewalFitReport {
  asOf: Date;
  asOfDate: string;
  model: RenewalModel;
  leftOut: LeftOut;
  stored: boolean;
  fitId: string | null;
  ms: number;
}

export async function fitRenewals(
  db: DbOrTrx,
  settings: RenewalSettings,
  asOf: Date,
  o: { by: SegmentBy; kind: RetentionModelKind; store: boolean; now: Date },
): Promise<RenewalFitReport> {
  const started = performance.now();
  const { counts, leftOut } = await contractObservationCounts(db, asOf, o.by);
  const model = fitRenewalModel(counts, { kind: o.kind, by: o.by, discountRate: settings.discountRate });
  const report: RenewalFitReport = { asOf, asOfDate: isoDate(asOf), model, leftOut, stored: false, fitId: null, ms: 0 };
  if (o.store && model.pooled.customers > 0) {
    const p = model.pooled;
    const params: Record<string, number> = { customers: p.customers, churned: p.churned, segments: model.segments.length };
    if (p.alpha !== null && p.beta !== null) {
      params.alpha = p.alpha;
      params.beta = p.beta;
      params.c = p.c ?? 1;
    }
    report.fitId = await insertFit(db, {
      model: 'renewal',
      params,
      details: { ...model, leftOut } as unknown as Record<string, unknown>,
      logLikelihood: p.logLikelihood,
      customers: p.customers,
      asOf: report.asOfDate,
      fittedAt: o.now,
    });
    report.stored = true;
  }
  report.ms = performance.now() - started;
  return report;
}

export async function latestRenewalModel(db: DbOrTrx): Promise<{ model: RenewalModel; asOf: string; fitId: string } | null> {
  const fit = await latestFit(db, 'renewal');
  const model = parseRenewalModel(fit?.details);
  return fit && model ? { model, asOf: fit.asOf, fitId: fit.id } : null;
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const fix = (v: number | null, d = 3) => (v === null ? 'n/a' : v.toFixed(d));

function segmentLine(s: SegmentFit, kind: RetentionModelKind, name: string): string {
  const params =
    s.alpha !== null
      ? `α ${fix(s.alpha).padStart(7)}  β ${fix(s.beta).padStart(7)}${kind === 'bdw' ? `  c ${fix(s.c).padStart(6)}` : ''}  LL ${fix(s.logLikelihood, 3).padStart(11)}`
      : `no fit of its own (${s.problem ?? 'too few customers'})`;
  const uses = s.uses === 'pooled' ? ' — forecasts use the pooled fit' : s.uses === 'none' ? ' — cannot be forecast' : '';
  return (
    `  ${name.padEnd(16)} ${String(s.customers).padStart(7)} customers ${String(s.churned).padStart(6)} churned  ${params}` +
    `  next renewal ${pct(s.nextPeriodRetention).padStart(6)}  DERL new ${fix(s.derlNew, 2)} / active ${fix(s.derlActive, 2)}${uses}`
  );
}

/** Lines for `retain renewals fit`. */
export function formatRenewalFit(r: RenewalFitReport): string[] {
  const m = r.model;
  const lo = r.leftOut;
  const left: string[] = [];
  if (lo.noStart) left.push(`${lo.noStart} without a contract start (started_at)`);
  if (lo.notStarted) left.push(`${lo.notStarted} starting after ${r.asOfDate}`);
  if (lo.churnedUndated) left.push(`${lo.churnedUndated} churned without a date`);
  if (lo.churnBeforeStart) left.push(`${lo.churnBeforeStart} with a churn dated before their start`);
  const lines = [
    `renewal model (${m.kind === 'bdw' ? 'beta-discrete-Weibull' : 'shifted-beta-geometric'}) as of ${r.asOfDate}, by ${m.by}; contract years from started_at; ` +
      `DERL at ${(m.discountRate * 100).toFixed(0)}% a year`,
    `  ${m.pooled.customers} customers with a contract start, ${m.pooled.churned} churned${left.length ? `; left out: ${left.join(', ')}` : ''}`,
    segmentLine(m.pooled, m.kind, 'all (pooled)'),
  ];
  for (const s of m.segments) lines.push(segmentLine(s, m.kind, s.segment));
  if (m.pooled.customers === 0) lines.push('  nothing to fit: load customers with started_at (and churned_at for those who left)');
  lines.push(r.stored ? `  stored as fit ${r.fitId}; renewal forecasts and the digest use it` : '  not stored');
  return lines;
}

export interface QuarterForecastReport {
  quarter: { key: string; start: string; end: string };
  /** The renewal model used, or null (health chances only). */
  modelAsOf: string | null;
  modelKind: RetentionModelKind | null;
  by: SegmentBy | null;
  open: number;
  forecast: OpenRenewalsForecast;
  /** The open renewals with the most ARR expected to be lost, with each one's chance of renewing. */
  riskiest: { name: string; renewalDate: string; arr: number; renewProbability: number; team: string | null }[];
  decided: { renewed: number; churned: number; churnedArr: number };
  healthWeight: number;
}

export async function forecastQuarter(
  db: DbOrTrx,
  settings: RenewalSettings,
  quarter: { key: string; start: string; end: string },
  o: { teamId?: number } = {},
): Promise<QuarterForecastReport> {
  const range = { from: quarter.start, to: quarter.end, ...(o.teamId !== undefined ? { teamId: o.teamId } : {}) };
  const [latest, rows, decided] = await Promise.all([latestRenewalModel(db), openRenewalsBetween(db, range), decidedBetween(db, range)]);
  const forecast = forecastOpenRenewals(
    rows.map((r) => ({
      customerId: r.customer_id,
      arr: r.arr === null ? 0 : Number(r.arr),
      renewalDate: r.renewal_date,
      startedAt: r.started_at ? new Date(r.started_at) : null,
      plan: r.plan,
      tier: r.tier,
      team: r.team_key,
      churnProbability: r.churn_probability,
    })),
    latest?.model ?? null,
    { healthWeight: settings.healthWeight, level: settings.forecastLevel },
  );
  const byId = new Map(rows.map((r) => [r.customer_id, r]));
  const riskiest = [...forecast.overall.items]
    .sort((a, b) => b.arr * (1 - b.renewProbability) - a.arr * (1 - a.renewProbability) || a.renewProbability - b.renewProbability)
    .slice(0, 10)
    .map((it) => {
      const row = byId.get(it.id ?? '')!;
      return { name: row.name, renewalDate: row.renewal_date, arr: it.arr, renewProbability: it.renewProbability, team: row.team_key };
    });
  return {
    quarter,
    riskiest,
    modelAsOf: latest?.asOf ?? null,
    modelKind: latest?.model.kind ?? null,
    by: latest?.model.by ?? null,
    open: rows.length,
    forecast,
    decided,
    healthWeight: settings.healthWeight,
  };
}

const money = (v: number) => formatMoney(v, null);
const renewals = (n: number) => `${n} renewal${n === 1 ? '' : 's'}`;

/** Lines for `retain renewals forecast`. */
export function formatQuarterForecast(r: QuarterForecastReport): string[] {
  const f = r.forecast.overall;
  const level = `${Math.round(f.renewalsInterval.level * 100)}%`;
  const lines = [
    `renewal forecast ${r.quarter.key} (${r.quarter.start} … ${r.quarter.end}) — ${renewals(r.open)} open; ` +
      (r.modelAsOf
        ? `renewal model as of ${r.modelAsOf} (${r.modelKind === 'bdw' ? 'BdW' : 'sBG'} by ${r.by}), pooled with the health model's chance of churn at weight ${r.healthWeight}`
        : 'no renewal model yet (retain renewals fit): chances from the health model alone'),
  ];
  if (f.renewals === 0) {
    lines.push('  nothing to forecast');
  } else {
    lines.push(
      `  expected renewals ${f.expectedRenewals.toFixed(1)} of ${f.renewals} (${level} interval ${f.renewalsInterval.low}–${f.renewalsInterval.high}): expected renewal rate ${pct(f.expectedRenewalRate)}`,
      `  ARR up for renewal ${money(f.arr)}; ARR at risk ${money(f.expectedArrAtRisk)} expected (${level} interval ${money(f.arrAtRiskInterval.low)}–${money(f.arrAtRiskInterval.high)})`,
    );
    lines.push('  by team:');
    for (const t of r.forecast.byTeam) lines.push(`    ${forecastLine(t.team, t.forecast, level)}`);
    lines.push('  by segment:');
    for (const s of f.bySegment) {
      lines.push(
        `    ${s.segment.padEnd(24)} ${String(s.renewals).padStart(5)} open  expected rate ${pct(s.expectedRenewalRate).padStart(6)}  ARR at risk ${money(s.expectedArrAtRisk)} of ${money(s.arr)}`,
      );
    }
  }
  if (r.riskiest.length) {
    lines.push('  most ARR at risk:');
    for (const x of r.riskiest) {
      lines.push(
        `    ${x.name.slice(0, 40).padEnd(40)} ${x.renewalDate}  ${money(x.arr).padStart(8)}  chance of renewing ${pct(x.renewProbability).padStart(6)}${x.team ? `  (${x.team})` : ''}`,
      );
    }
  }
  if (r.decided.renewed + r.decided.churned > 0) {
    lines.push(`  already decided in ${r.quarter.key}: ${r.decided.renewed} renewed, ${r.decided.churned} churned (${money(r.decided.churnedArr)} ARR lost)`);
  }
  if (r.forecast.healthOnly) lines.push(`  ${renewals(r.forecast.healthOnly)} without a contract start: the chance is the health model's alone`);
  if (r.forecast.unforecast) lines.push(`  ${renewals(r.forecast.unforecast)} not forecast: no contract start and no chance of churn`);
  return lines;
}

function forecastLine(name: string, f: OpenRenewalsForecast['overall'], level: string): string {
  return (
    `${name.padEnd(16)} ${String(f.renewals).padStart(5)} open  expected rate ${pct(f.expectedRenewalRate).padStart(6)}  ` +
    `ARR at risk ${money(f.expectedArrAtRisk)} (${level}: ${money(f.arrAtRiskInterval.low)}–${money(f.arrAtRiskInterval.high)})`
  );
}
