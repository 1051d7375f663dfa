import type { DbOrTrx } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { isoDate } from '../platform/clock.js';
import { fitBgNbd, fitGammaGamma, ScoringError, type BgNbdParams, type GammaGammaParams } from '../scoring/index.js';
import { fitData, insertFit, latestFit, type ModelName, type StoredFit } from './fit.repository.js';
import { parseHealthModel, type HealthModel } from './health-model.rules.js';

/**
 * Refits BG/NBD and Gamma-Gamma by maximum likelihood from the orders on or
 * before as-of. A fit that did not converge is reported but not stored when
 * an earlier fit exists (the earlier one stays in use); the very first fit is
 * stored even so, because a run needs some parameters.
 */
export interface ModelFitReport {
  model: ModelName;
  /** Time unit of the parameters. */
  unit: 'weeks';
  params: Record<string, number> | null;
  logLikelihood: number | null;
  customers: number;
  patterns: number;
  iterations: number;
  converged: boolean;
  /** Stored as the new current fit. */
  stored: boolean;
  /** Id of the fit in use after this call (the new one, or the one kept). */
  fitId: string | null;
  /** Why there is no fit (no orders, no repeat buyers…). */
  note: string | null;
  ms: number;
}

export interface FitReport {
  asOf: Date;
  asOfDate: string;
  customersWithOrders: number;
  bgnbd: ModelFitReport;
  gammagamma: ModelFitReport;
}

export interface FitOptions {
  /** Write the fits to model_fits (false for backtests). */
  store: boolean;
  /** Wall time of the fit (fitted_at). */
  now: Date;
  logger?: Logger;
  /** Optimizer iteration cap (default the models' own). */
  maxIterations?: number;
}

export async function fitModels(db: DbOrTrx, asOf: Date, opts: FitOptions): Promise<FitReport> {
  const data = await fitData(db, asOf);
  const asOfDate = isoDate(asOf);

  const bgStarted = performance.now();
  let bg: ModelFitReport = emptyReport('bgnbd', 'no customer has an order on or before this date');
  if (data.bgnbd.length > 0) {
    try {
      const fit = fitBgNbd(data.bgnbd, opts.maxIterations ? { maxIterations: opts.maxIterations } : {});
      bg = {
        ...emptyReport('bgnbd', null),
        params: { r: fit.r, alpha: fit.alpha, a: fit.a, b: fit.b },
        logLikelihood: fit.logLikelihood,
        customers: fit.customers,
        patterns: fit.patterns,
        iterations: fit.iterations,
        converged: fit.converged,
      };
    } catch (e) {
      bg = emptyReport('bgnbd', e instanceof ScoringError ? e.message : String(e));
    }
  }
  bg.ms = performance.now() - bgStarted;

  const ggStarted = performance.now();
  let gg: ModelFitReport = emptyReport('gammagamma', 'no customer has a repeat purchase with a positive value');
  if (data.spend.length > 0) {
    try {
      const fit = fitGammaGamma(data.spend, opts.maxIterations ? { maxIterations: opts.maxIterations } : {});
      gg = {
        ...emptyReport('gammagamma', null),
        params: { p: fit.p, q: fit.q, gamma: fit.gamma },
        logLikelihood: fit.logLikelihood,
        customers: fit.customers,
        patterns: data.spend.length,
        iterations: fit.iterations,
        converged: fit.converged,
      };
    } catch (e) {
      gg = emptyReport('gammagamma', e instanceof ScoringError ? e.message : String(e));
    }
  }
  gg.ms = performance.now() - ggStarted;

  if (opts.store) {
    for (const report of [bg, gg]) {
      const previous = await latestFit(db, report.model);
      if (report.params && (report.converged || !previous)) {
        report.fitId = await insertFit(db, {
          model: report.model,
          params: { ...report.params, converged: report.converged ? 1 : 0, patterns: report.patterns, iterations: report.iterations },
          logLikelihood: report.logLikelihood!,
          customers: report.customers,
          asOf: asOfDate,
          fittedAt: opts.now,
        });
        report.stored = true;
      } else {
        report.fitId = previous?.id ?? null;
        if (report.params && !report.converged) {
          report.note = `did not converge; keeping the fit of ${previous!.fittedAt.toISOString()} (as of ${previous!.asOf})`;
          opts.logger?.warn({ model: report.model, keep: previous!.id }, 'model fit did not converge; previous fit kept');
        }
      }
    }
  }
  return { asOf, asOfDate, customersWithOrders: data.customers, bgnbd: bg, gammagamma: gg };
}

function emptyReport(model: ModelName, note: string | null): ModelFitReport {
  return {
    model,
    unit: 'weeks',
    params: null,
    logLikelihood: null,
    customers: 0,
    patterns: 0,
    iterations: 0,
    converged: false,
    stored: false,
    fitId: null,
    note,
    ms: 0,
  };
}

export interface CurrentModels {
  bgnbd: { fitId: string | null; params: BgNbdParams; asOf: string } | null;
  gammagamma: { fitId: string | null; params: GammaGammaParams; asOf: string } | null;
  /** The health model in use (`retain fit`): the scorecard's weights and the churn chance's calibration. */
  health?: { fitId: string | null; model: HealthModel; asOf: string } | null;
}

export function bgParams(p: Record<string, number> | null | undefined): BgNbdParams | null {
  if (!p) return null;
  const { r, alpha, a, b } = p;
  return [r, alpha, a, b].every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0) ? { r: r!, alpha: alpha!, a: a!, b: b! } : null;
}

export function ggParams(p: Record<string, number> | null | undefined): GammaGammaParams | null {
  if (!p) return null;
  const { p: pp, q, gamma } = p;
  return [pp, q, gamma].every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0) ? { p: pp!, q: q!, gamma: gamma! } : null;
}

function toCurrent(bg: StoredFit | null, gg: StoredFit | null, health: StoredFit | null): CurrentModels {
  const b = bgParams(bg?.params);
  const g = ggParams(gg?.params);
  const h = parseHealthModel(health?.details);
  return {
    bgnbd: bg && b ? { fitId: bg.id, params: b, asOf: bg.asOf } : null,
    gammagamma: gg && g ? { fitId: gg.id, params: g, asOf: gg.asOf } : null,
    health: health && h ? { fitId: health.id, model: h, asOf: health.asOf } : null,
  };
}

/** The latest stored fits; when there are none yet, fits first (and stores). */
export async function currentModels(db: DbOrTrx, opts: { now: Date; logger?: Logger }): Promise<CurrentModels> {
  let bg = await latestFit(db, 'bgnbd');
  let gg = await latestFit(db, 'gammagamma');
  if (!bg) {
    await fitModels(db, opts.now, { store: true, now: opts.now, ...(opts.logger ? { logger: opts.logger } : {}) });
    bg = await latestFit(db, 'bgnbd');
    gg = await latestFit(db, 'gammagamma');
  }
  return toCurrent(bg, gg, await latestFit(db, 'health'));
}

/** Fits as of a past date, not stored (backtests). */
export async function modelsAsOf(db: DbOrTrx, asOf: Date, now: Date): Promise<{ models: CurrentModels; report: FitReport }> {
  const report = await fitModels(db, asOf, { store: false, now });
  const b = bgParams(report.bgnbd.params);
  const g = ggParams(report.gammagamma.params);
  return {
    report,
    models: {
      bgnbd: b ? { fitId: null, params: b, asOf: report.asOfDate } : null,
      gammagamma: g ? { fitId: null, params: g, asOf: report.asOfDate } : null,
    },
  };
}

/** Lines for `retain fit`. */
export function formatFitReport(r: FitReport): string[] {
  const lines = [`model fit as of ${r.asOfDate} — ${r.customersWithOrders} customers with orders (time unit: weeks)`];
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(2) : v.toPrecision(4));
  for (const m of [r.bgnbd, r.gammagamma]) {
    const name = m.model === 'bgnbd' ? 'BG/NBD' : 'Gamma-Gamma';
    if (!m.params) {
      lines.push(`  ${name}: no fit — ${m.note ?? 'no data'}`);
      continue;
    }
    const params = Object.entries(m.params)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(' ');
    const state = m.stored ? `stored as fit ${m.fitId}` : m.fitId ? `not stored; fit ${m.fitId} stays in use` : 'not stored';
    lines.push(
      `  ${name}: ${params}  log-likelihood ${m.logLikelihood!.toFixed(2)}  customers ${m.customers}  patterns ${m.patterns}  ` +
        `${m.converged ? 'converged' : 'NOT converged'} in ${m.iterations} iterations, ${m.ms.toFixed(0)} ms; ${state}`,
    );
    if (m.note) lines.push(`    ${m.note}`);
  }
  return lines;
}
