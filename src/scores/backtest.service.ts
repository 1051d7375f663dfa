import type { AppContext } from '../platform/context.js';
import { DAY_MS, isoDate } from '../platform/clock.js';
import type { Trx } from '../platform/db.js';
import { auc, precisionRecall, thresholdSweep, type PrecisionRecall, type ThresholdRow } from '../scoring/backtest.js';
import type { Band } from './score.table.js';
import {
  backtestPopulationIds,
  churnedBetween,
  createBacktestPopulation,
  failBacktestRun,
  finishBacktestRun,
  openBacktestRun,
} from './backtest.repository.js';
import { aggregateBatch } from './facts.repository.js';
import { bgParams, modelsAsOf, type FitReport } from './fit.service.js';
import { batchCustomerIds, writePopulation } from './population.repository.js';
import { feedState, runInputs, type RunContext } from './rescore.prepare.service.js';
import { newPatternMemo, pAliveInformative, scoreCustomer } from './score.rules.js';
import { scoringConfigFrom, type ScoringSettings } from './scoring.config.js';

/**
 * `retain backtest --as-of DATE --horizon DAYS`: scores every
 * customer active at DATE with only what was known then — signals, feedback
 * and interactions up to DATE, purchase models fitted as of DATE — and
 * reports how well the score ranked the accounts that churned in the
 * following DAYS.
 *
 * It writes nothing but a `backtest` row in scoring_runs: the population
 * (RFM, tiers) lives in a temporary table of the backtest's own transaction,
 * fits are not stored, scores stay in memory, customer_scores and
 * score_history are never touched.
 *
 * The warning rule is evaluated as configured (alerts.*): red band, or
 * P(alive) below alerts.pAliveBelow, or a fall of alerts.dropPoints or more
 * against the score the same replay gives at DATE − alerts.dropWindowDays.
 * Hysteresis and snoozes need a live history and are not replayed: the rule
 * is judged on whether it would have fired at DATE.
 */
export interface BacktestOptions {
  asOf: Date;
  horizonDays: number;
}

interface PointScore {
  health: number;
  band: Band;
  pAlive: number | null;
}

export interface RuleStats extends PrecisionRecall {
  rule: string;
}

export interface BacktestReport {
  runId: string;
  asOf: Date;
  horizonDays: number;
  windowEnd: Date;
  /** Customers active at DATE (not churned on or before it, known by then). */
  population: number;
  /** Of those, scored (they had some data by DATE). */
  scored: number;
  churners: number;
  survivors: number;
  /** Churners the replay could not score (no data by DATE). */
  unscoredChurners: number;
  auc: number | null;
  /** AUC of P(alive) alone (risk = 1 − P(alive)), over customers with a purchase model value. */
  aucPAlive: number | null;
  warning: RuleStats;
  rules: RuleStats[];
  bandsOfChurners: Record<Band, number>;
  bandsOfSurvivors: Record<Band, number>;
  /** Precision / recall of "warn when health < t" for a range of t: how to tune the red band. */
  sweep: ThresholdRow[];
  fit: FitReport;
  /** Feeds judged stale at the date (their measures were left out, as a live run would). */
  stale: string[];
  ms: number;
}

/** Scores of every active customer as of `asOf`, in the transaction's temporary population table. */
async function scoresAt(
  ctx: AppContext,
  trx: Trx,
  settings: ScoringSettings,
  key: string,
  asOf: Date,
): Promise<{ population: number; scores: Map<string, PointScore>; fit: FitReport; stale: string[] }> {
  const { models, report } = await modelsAsOf(trx, asOf, ctx.clock.now());
  const feeds = await feedState(trx, asOf, settings.staleAfterDays);
  const population = await writePopulation(trx, {
    runId: key,
    asOf,
    select: 'base',
    batchSize: settings.batchSize,
    tiers: settings.tiers,
    table: 'bt_population',
  });
  const context: RunContext = { preparedAt: asOf.toISOString(), models, ...feeds, selected: population.customers };
  const inputs = runInputs(context, settings);
  const scores = new Map<string, PointScore>();
  const memo = newPatternMemo();
  for (let from = 0; from < population.batches; from += 50) {
    const chunk = await batchCustomerIds(trx, key, from, Math.min(population.batches, from + 50), 'bt_population');
    for (const { batch, ids } of chunk) {
      const facts = await aggregateBatch(trx, { runId: key, batch, customerIds: ids, asOf, table: 'bt_population' });
      for (const f of facts) {
        const s = scoreCustomer(f, inputs, memo);
        if (s) scores.set(s.customerId, { health: s.health, band: s.band, pAlive: s.pAlive });
      }
    }
  }
  return { population: population.customers, scores, fit: report, stale: feeds.stale.map((x) => x.text) };
}

export async function runBacktest(ctx: AppContext, opts: BacktestOptions): Promise<BacktestReport> {
  const started = performance.now();
  const alerts = ctx.config.settings.alerts;
  const asOf = opts.asOf;
  const windowEnd = new Date(asOf.getTime() + opts.horizonDays * DAY_MS);
  const runId = await openBacktestRun(ctx.db, asOf, ctx.clock.now());
  try {
    // Parsed once for both replays; inside the try, so a bad config fails the backtest's run row.
    const settings = scoringConfigFrom(ctx.config.settings);
    const result = await ctx.db.transaction().execute(async (trx) => {
      await createBacktestPopulation(trx);
      const now = await scoresAt(ctx, trx, settings, '1', asOf);
      const before = await scoresAt(ctx, trx, settings, '2', new Date(asOf.getTime() - alerts.dropWindowDays * DAY_MS));
      const churned = await churnedBetween(trx, asOf, windowEnd);
      const base = await backtestPopulationIds(trx, '1');
      return { now, before, churned, base };
    });

    const { now, before, churned, base } = result;
    const ranked: { risk: number; churned: boolean }[] = [];
    const rankedPAlive: { risk: number; churned: boolean }[] = [];
    const flags: Record<string, { flagged: boolean; churned: boolean }[]> = { red_band: [], p_alive: [], score_drop: [], any: [] };
    const bandsOfChurners: Record<Band, number> = { green: 0, yellow: 0, red: 0 };
    const bandsOfSurvivors: Record<Band, number> = { green: 0, yellow: 0, red: 0 };
    let unscoredChurners = 0;
    for (const id of base) {
      const isChurner = churned.has(id);
      const s = now.scores.get(id);
      if (!s) {
        if (isChurner) unscoredChurners++;
        continue;
      }
      ranked.push({ risk: 100 - s.health, churned: isChurner });
      if (s.pAlive !== null) rankedPAlive.push({ risk: 1 - s.pAlive, churned: isChurner });
      (isChurner ? bandsOfChurners : bandsOfSurvivors)[s.band]++;
      const prev = before.scores.get(id);
      const red = s.band === 'red';
      const pAlive = s.pAlive !== null && s.pAlive < alerts.pAliveBelow;
      const drop = prev !== undefined && prev.health - s.health >= alerts.dropPoints;
      flags.red_band!.push({ flagged: red, churned: isChurner });
      flags.p_alive!.push({ flagged: pAlive, churned: isChurner });
      flags.score_drop!.push({ flagged: drop, churned: isChurner });
      flags.any!.push({ flagged: red || pAlive || drop, churned: isChurner });
    }
    const churners = ranked.filter((r) => r.churned).length;
    const report: BacktestReport = {
      runId,
      asOf,
      horizonDays: opts.horizonDays,
      windowEnd,
      population: base.length,
      scored: ranked.length,
      churners,
      survivors: ranked.length - churners,
      unscoredChurners,
      auc: auc(ranked),
      aucPAlive: auc(rankedPAlive),
      warning: { rule: 'churn warning (any rule)', ...precisionRecall(flags.any!) },
      rules: [
        { rule: 'red band', ...precisionRecall(flags.red_band!) },
        { rule: `P(alive) < ${alerts.pAliveBelow}`, ...precisionRecall(flags.p_alive!) },
        { rule: `drop ≥ ${alerts.dropPoints} in ${alerts.dropWindowDays} days`, ...precisionRecall(flags.score_drop!) },
      ],
      bandsOfChurners,
      bandsOfSurvivors,
      sweep: thresholdSweep(
        ranked.map((r) => ({ health: 100 - r.risk, churned: r.churned })),
        [30, 40, 50, 55, 60, 65, 70, 80],
      ),
      fit: now.fit,
      stale: now.stale,
      ms: performance.now() - started,
    };
    await finishBacktestRun(ctx.db, runId, report.scored, ctx.clock.now());
    return report;
  } catch (e) {
    await failBacktestRun(ctx.db, runId, String((e as Error).message ?? e), ctx.clock.now());
    throw e;
  }
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);

export function formatBacktestReport(r: BacktestReport): string[] {
  const lines = [
    `backtest as of ${isoDate(r.asOf)}, horizon ${r.horizonDays} days (churn in ${isoDate(r.asOf)} … ${isoDate(r.windowEnd)}] — run ${r.runId}, ${(r.ms / 1000).toFixed(1)}s`,
    `customers active at ${isoDate(r.asOf)}: ${r.population}; scored with data known then: ${r.scored}`,
    `churned within the horizon: ${r.churners} (+${r.unscoredChurners} without data by then, not ranked); stayed: ${r.survivors}`,
    `AUC (risk = 100 − health): ${r.auc === null ? 'n/a (needs churners and survivors)' : r.auc.toFixed(3)}` +
      (r.aucPAlive === null ? '' : `   AUC of P(alive) alone: ${r.aucPAlive.toFixed(3)}`),
    `churn warning as configured: precision ${pct(r.warning.precision)}, recall ${pct(r.warning.recall)} ` +
      `(flagged ${r.warning.truePositives + r.warning.falsePositives}: ${r.warning.truePositives} churned, ${r.warning.falsePositives} stayed; ` +
      `missed ${r.warning.falseNegatives}; base rate ${pct(r.warning.baseRate)})`,
  ];
  for (const rule of r.rules) {
    lines.push(
      `  ${rule.rule.padEnd(24)} precision ${pct(rule.precision).padStart(6)}  recall ${pct(rule.recall).padStart(6)}  ` +
        `(flagged ${rule.truePositives + rule.falsePositives}, churned ${rule.truePositives})`,
    );
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
  if (r.stale.length) lines.push(`stale feeds at ${isoDate(r.asOf)} (left out, as a live run would): ${r.stale.join('; ')}`);
  lines.push('customer_scores and score_history were not touched.');
  return lines;
}
