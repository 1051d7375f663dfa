import type { AppContext } from '../platform/context.js';
import { DAY_MS, isoDate } from '../platform/clock.js';
import {
  auc,
  aucBootstrapInterval,
  averagePrecision,
  brierScore,
  calibrationTable,
  precisionRecall,
  thresholdSweep,
  topDecileLift,
  type AucInterval,
  type CalibrationRow,
  type Lift,
  type PrecisionRecall,
  type RankedOutcome,
  type ThresholdRow,
} from '../scoring/backtest.js';
import { bgnbdExpectedRepeat } from '../scoring/index.js';
import type { Band } from './score.table.js';
import { failBacktestRun, finishBacktestRun, openBacktestRun } from './backtest.repository.js';
import { bgParams, type FitReport } from './fit.service.js';
import { fitHealthModel, resolveChurn, type HealthFitReport } from './health-fit.service.js';
import { describeChurn, healthOfMeasures, type ChurnDefinition } from './health-model.rules.js';
import { inReplayTransaction, replayAt } from './replay.service.js';
import { pAliveInformative } from './score.rules.js';
import { scoringConfigFrom } from './scoring.config.js';

/**
 * `retain backtest --as-of DATE --horizon DAYS [--churn status|lapse]`:
 * scores every customer active at DATE with only what was known then —
 * signals, feedback and interactions up to DATE, purchase models and the
 * health model fitted as of DATE — and reports how well the score ranked the
 * accounts that churned in the following DAYS.
 *
 * Churn is contractual (status: marked churned, or a renewal lost) or, for a
 * book of orders, lapse (no order within the horizon, judged for customers
 * with an order by DATE). Without --churn the book decides: contractual where
 * it records such churn, else lapse.
 *
 * It writes nothing but a `backtest` row in scoring_runs: populations live in
 * a temporary table of the backtest's own transactions, fits are not stored,
 * scores stay in memory, customer_scores and score_history are never touched.
 *
 * The warning rule is evaluated as configured (alerts.*): red band, or
 * P(alive) below alerts.pAliveBelow, or a fall of alerts.dropPoints or more
 * against the score the same replay gives at DATE − alerts.dropWindowDays.
 * Hysteresis and snoozes need a live history and are not replayed: the rule
 * is judged on whether it would have fired at DATE. The health model's own
 * alert threshold (a chance of churn) is judged the same way.
 */
export interface BacktestOptions {
  asOf: Date;
  horizonDays: number;
  /** Default 'auto': what the book supports. */
  churn?: ChurnDefinition | 'auto';
}

export interface RuleStats extends PrecisionRecall {
  rule: string;
}

export interface BacktestReport {
  runId: string;
  asOf: Date;
  horizonDays: number;
  windowEnd: Date;
  churn: ChurnDefinition;
  /** Why this definition: asked for, or what the book supports. */
  churnWhy: string;
  /** Customers active at DATE (not churned on or before it, known by then). */
  population: number;
  /** Of those, judged under the churn definition (lapse: with an order by DATE). */
  judged: number;
  /** Of those, scored (they had some data by DATE). */
  scored: number;
  churners: number;
  survivors: number;
  /** Churners the replay could not score (no data by DATE). */
  unscoredChurners: number;
  /** AUC of risk = 100 − health (unrounded), with its bootstrap 95% interval. */
  auc: number | null;
  aucInterval: AucInterval | null;
  /** PR-AUC (average precision) of the same ranking; compare with the base rate. */
  averagePrecision: number | null;
  /** When the health model uses learned weights: the AUC the configured weights would have had. */
  aucConfigured: number | null;
  /** AUC of P(alive) alone (risk = 1 − P(alive)), over customers with a purchase model value. */
  aucPAlive: number | null;
  /** AUC of the purchase model's E[Y(horizon)] alone (risk = −E), over customers with orders: the BG/NBD's own forecast. */
  aucExpectedOrders: number | null;
  /** Of the calibrated chance of churn (null without a calibrated health model as of DATE). */
  brier: number | null;
  calibration: CalibrationRow[];
  lift: Lift | null;
  warning: RuleStats;
  rules: RuleStats[];
  /** "Warn when the chance of churn ≥ the fitted threshold"; null without one. */
  atThreshold: (RuleStats & { threshold: number }) | null;
  bandsOfChurners: Record<Band, number>;
  bandsOfSurvivors: Record<Band, number>;
  /** Precision / recall of "warn when health < t" for a range of t: how to tune the red band. */
  sweep: ThresholdRow[];
  fit: FitReport;
  /** The health model as fitted as of DATE (not stored), which the replay scored with. */
  health: HealthFitReport;
  /** Feeds judged stale at the date (their measures were left out, as a live run would). */
  stale: string[];
  ms: number;
}

export async function runBacktest(ctx: AppContext, opts: BacktestOptions): Promise<BacktestReport> {
  const started = performance.now();
  const alerts = ctx.config.settings.alerts;
  const asOf = opts.asOf;
  const h = opts.horizonDays;
  const windowEnd = new Date(asOf.getTime() + h * DAY_MS);
  const runId = await openBacktestRun(ctx.db, asOf, ctx.clock.now());
  try {
    // Parsed inside the try, so a bad config fails the backtest's run row.
    const settings = scoringConfigFrom(ctx.config.settings);
    const { churn, why } = await resolveChurn(ctx.db, opts.churn ?? 'auto');
    // What a live system would have scored with at DATE: the health model
    // fitted on the history before it, judged by this backtest's horizon and churn.
    const health = await fitHealthModel(ctx.db, settings, asOf, { store: false, now: ctx.clock.now(), logger: ctx.logger, churn, horizonDays: h });
    const model = health.model;

    const ranked: RankedOutcome[] = [];
    const rankedConfigured: RankedOutcome[] = [];
    const rankedPAlive: RankedOutcome[] = [];
    const rankedExpected: RankedOutcome[] = [];
    const probabilities: RankedOutcome[] = [];
    const flags: Record<'red_band' | 'p_alive' | 'score_drop' | 'any' | 'threshold', { flagged: boolean; churned: boolean }[]> = {
      red_band: [],
      p_alive: [],
      score_drop: [],
      any: [],
      threshold: [],
    };
    const bandsOfChurners: Record<Band, number> = { green: 0, yellow: 0, red: 0 };
    const bandsOfSurvivors: Record<Band, number> = { green: 0, yellow: 0, red: 0 };
    let judged = 0;
    let unscoredChurners = 0;
    const expectedByPattern = new Map<string, number>();
    const threshold = model.threshold?.probability ?? null;

    const replays = await inReplayTransaction(ctx.db, async (trx) => {
      const before = new Map<string, number>();
      const beforeAt = new Date(asOf.getTime() - alerts.dropWindowDays * DAY_MS);
      await replayAt(trx, { key: '2', asOf: beforeAt, settings, now: ctx.clock.now(), health: model }, (c) => {
        if (c.score) before.set(c.score.customerId, c.score.health);
      });
      return replayAt(trx, { key: '1', asOf, settings, now: ctx.clock.now(), health: model, label: { churn, horizonDays: h } }, (c) => {
        if (c.churned === null) return;
        judged++;
        const isChurner = c.churned;
        const s = c.score;
        if (!s) {
          if (isChurner) unscoredChurners++;
          return;
        }
        ranked.push({ risk: 100 - (s.healthExact ?? s.health), churned: isChurner });
        if (model.use === 'learned') rankedConfigured.push({ risk: 100 - healthOfMeasures(model.configuredWeights, s.measures), churned: isChurner });
        if (s.pAlive !== null) rankedPAlive.push({ risk: 1 - s.pAlive, churned: isChurner });
        const bg = c.inputs.bgnbd;
        const f = c.facts;
        if (bg && f.x !== null && f.txDays !== null && f.TDays !== null) {
          const key = `${f.x}|${f.txDays}|${f.TDays}`;
          let e = expectedByPattern.get(key);
          if (e === undefined) {
            e = bgnbdExpectedRepeat(bg, h / 7, f.x, f.txDays / 7, f.TDays / 7);
            expectedByPattern.set(key, e);
          }
          rankedExpected.push({ risk: -e, churned: isChurner });
        }
        const p = s.churnProbability ?? null;
        if (p !== null) probabilities.push({ risk: p, churned: isChurner });
        (isChurner ? bandsOfChurners : bandsOfSurvivors)[s.band]++;
        const prev = before.get(s.customerId);
        const red = s.band === 'red';
        const pAlive = s.pAlive !== null && s.pAlive < alerts.pAliveBelow;
        const drop = prev !== undefined && prev - s.health >= alerts.dropPoints;
        flags.red_band.push({ flagged: red, churned: isChurner });
        flags.p_alive.push({ flagged: pAlive, churned: isChurner });
        flags.score_drop.push({ flagged: drop, churned: isChurner });
        flags.any.push({ flagged: red || pAlive || drop, churned: isChurner });
        if (threshold !== null && p !== null) flags.threshold.push({ flagged: p >= threshold, churned: isChurner });
      });
    });

    const churners = ranked.filter((r) => r.churned).length;
    const report: BacktestReport = {
      runId,
      asOf,
      horizonDays: h,
      windowEnd,
      churn,
      churnWhy: why,
      population: replays.population,
      judged,
      scored: ranked.length,
      churners,
      survivors: ranked.length - churners,
      unscoredChurners,
      auc: auc(ranked),
      aucInterval: aucBootstrapInterval(ranked, { replicates: 200, seed: 1 }),
      averagePrecision: averagePrecision(ranked),
      aucConfigured: model.use === 'learned' ? auc(rankedConfigured) : null,
      aucPAlive: auc(rankedPAlive),
      aucExpectedOrders: auc(rankedExpected),
      brier: brierScore(probabilities),
      calibration: probabilities.length ? calibrationTable(probabilities, 10) : [],
      lift: topDecileLift(ranked, 0.1),
      warning: { rule: 'churn warning (any rule)', ...precisionRecall(flags.any) },
      rules: [
        { rule: 'red band', ...precisionRecall(flags.red_band) },
        { rule: `P(alive) < ${alerts.pAliveBelow}`, ...precisionRecall(flags.p_alive) },
        { rule: `drop ≥ ${alerts.dropPoints} in ${alerts.dropWindowDays} days`, ...precisionRecall(flags.score_drop) },
      ],
      atThreshold:
        threshold !== null && flags.threshold.length ? { rule: 'chance of churn ≥ fitted threshold', threshold, ...precisionRecall(flags.threshold) } : null,
      bandsOfChurners,
      bandsOfSurvivors,
      sweep: thresholdSweep(
        ranked.map((r) => ({ health: 100 - r.risk, churned: r.churned })),
        [30, 40, 50, 55, 60, 65, 70, 80],
      ),
      fit: replays.fit,
      health,
      stale: replays.stale,
      ms: performance.now() - started,
    };
    await finishBacktestRun(ctx.db, runId, report.scored, ctx.clock.now());
    return report;
  } catch (e) {
    await failBacktestRun(ctx.db, runId, String((e as Error).message ?? e), ctx.clock.now());
    throw e;
  }
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));

function ruleLine(rule: RuleStats): string {
  return (
    `  ${rule.rule.padEnd(24)} precision ${pct(rule.precision).padStart(6)}  recall ${pct(rule.recall).padStart(6)}  ` +
    `(flagged ${rule.truePositives + rule.falsePositives}, churned ${rule.truePositives})`
  );
}

export function formatBacktestReport(r: BacktestReport): string[] {
  const baseRate = r.scored > 0 ? r.churners / r.scored : null;
  const lines = [
    `backtest as of ${isoDate(r.asOf)}, horizon ${r.horizonDays} days (churn in ${isoDate(r.asOf)} … ${isoDate(r.windowEnd)}] — run ${r.runId}, ${(r.ms / 1000).toFixed(1)}s`,
    `churn: ${describeChurn(r.churn, r.horizonDays)} — ${r.churnWhy}`,
    `customers active at ${isoDate(r.asOf)}: ${r.population}; judged: ${r.judged}; scored with data known then: ${r.scored}`,
    `churned within the horizon: ${r.churners} (+${r.unscoredChurners} without data by then, not ranked); stayed: ${r.survivors}; base rate ${pct(baseRate)}`,
    `AUC (risk = 100 − health): ${r.auc === null ? 'n/a (needs churners and survivors)' : r.auc.toFixed(3)}` +
      (r.aucInterval ? ` (95% bootstrap interval ${r.aucInterval.low.toFixed(3)}–${r.aucInterval.high.toFixed(3)})` : '') +
      (r.aucConfigured !== null ? `; with the configured weights ${num(r.aucConfigured)}` : ''),
    `  PR-AUC ${num(r.averagePrecision)} (a random ranking scores the base rate)` +
      (r.lift?.lift != null ? `; top-decile lift ${r.lift.lift.toFixed(2)}× (${pct(r.lift.topRate)} churned among the riskiest 10%)` : ''),
    `  for reference — AUC of the purchase model alone: E[Y(${r.horizonDays} days)] ${num(r.aucExpectedOrders)}, P(alive) ${num(r.aucPAlive)}`,
    `churn warning as configured: precision ${pct(r.warning.precision)}, recall ${pct(r.warning.recall)} ` +
      `(flagged ${r.warning.truePositives + r.warning.falsePositives}: ${r.warning.truePositives} churned, ${r.warning.falsePositives} stayed; ` +
      `missed ${r.warning.falseNegatives}; base rate ${pct(r.warning.baseRate)})`,
  ];
  for (const rule of r.rules) lines.push(ruleLine(rule));
  if (r.atThreshold) {
    lines.push(
      `at the fitted threshold (chance of churn ≥ ${pct(r.atThreshold.threshold)}): precision ${pct(r.atThreshold.precision)}, recall ${pct(r.atThreshold.recall)}`,
    );
    lines.push(ruleLine(r.atThreshold));
  } else {
    lines.push('at the fitted threshold: n/a (no alert threshold as of the date)');
  }
  if (r.brier !== null) {
    lines.push(
      `calibrated chance of churn: Brier score ${r.brier.toFixed(4)} (always predicting the base rate: ${baseRate === null ? 'n/a' : (baseRate * (1 - baseRate)).toFixed(4)})`,
    );
    lines.push('  decile  customers  predicted  observed');
    for (const row of r.calibration) {
      lines.push(
        `  ${String(row.bin).padStart(6)}  ${String(row.count).padStart(9)}  ${pct(row.meanPredicted).padStart(9)}  ${pct(row.observedRate).padStart(8)}`,
      );
    }
  } else {
    lines.push('calibrated chance of churn: n/a (no health model could be calibrated as of the date — see below); Brier score and calibration need one');
  }
  const bands = (b: Record<Band, number>) => `green ${b.green}, yellow ${b.yellow}, red ${b.red}`;
  lines.push(`bands at ${isoDate(r.asOf)} — churners: ${bands(r.bandsOfChurners)}; survivors: ${bands(r.bandsOfSurvivors)}`);
  if (r.sweep.length && r.churners > 0) {
    lines.push('if the warning fired below health t (tune scoring.bands.red with this):');
    for (const row of r.sweep) {
      lines.push(
        `  t = ${String(row.below).padStart(3)}  precision ${pct(row.precision).padStart(6)}  recall ${pct(row.recall).padStart(6)}  ` +
          `(flagged ${row.truePositives + row.falsePositives}, churned ${row.truePositives})`,
      );
    }
  }
  const bg = r.fit.bgnbd.params;
  lines.push(
    bg
      ? `purchase model fitted as of ${r.fit.asOfDate} (not stored): BG/NBD r=${bg.r!.toPrecision(3)} α=${bg.alpha!.toPrecision(3)} a=${bg.a!.toPrecision(3)} b=${bg.b!.toPrecision(3)}` +
          (r.fit.bgnbd.converged ? '' : ' — did not converge (parameters at the optimizer’s bounds)') +
          (pAliveInformative(bgParams(bg)) ? '' : ' — sees no dropout, so P(alive) was left out')
      : `no purchase model as of ${r.fit.asOfDate}: ${r.fit.bgnbd.note ?? 'no orders'}`,
  );
  const m = r.health.model;
  lines.push(
    `health model fitted as of ${r.health.asOfDate} on ${r.health.origins.length - 1} earlier dates, 1 more held out (not stored): ` +
      `${m.use === 'learned' ? 'learned weights' : 'configured weights'} — ${m.reason}`,
  );
  if (r.stale.length) lines.push(`stale feeds at ${isoDate(r.asOf)} (left out, as a live run would): ${r.stale.join('; ')}`);
  lines.push('customer_scores and score_history were not touched.');
  return lines;
}
