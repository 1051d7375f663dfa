import type { AppContext } from '../platform/context.js';
import type { DbOrTrx } from '../platform/db.js';
import { measuresToExclude, MEASURES_BY_SIGNAL_KIND, staleSources, typicalGapDays, type MeasureKey, type StaleSource } from '../scoring/index.js';
import { feedArrivals, humanFeeds } from './facts.repository.js';
import { bgParams, currentModels, ggParams, type CurrentModels } from './fit.service.js';
import {
  deleteOrphanPopulations,
  deletePopulation,
  latestFullRunCuts,
  writePopulation,
  writePopulationFromCuts,
  type PopulationCuts,
} from './population.repository.js';
import { getRun, lockRun, markRunPrepared, openRun, type RunRow } from './run.repository.js';
import { calibrationApplies, parseHealthModel } from './health-model.rules.js';
import { tameBgNbd, type ChurnCalibration, type FeedPresence, type RunScoringInputs } from './score.rules.js';
import { scoringConfigFrom, type ScoringSettings } from './scoring.config.js';

/**
 * Scoring runs: a run is prepared once (models, feed freshness,
 * population-level RFM and tiers, batch assignment), then scored in
 * independent batches — by BullMQ workers (`rescore` → `rescoreBatch` jobs)
 * or in-process (`retain rescore`), through the same `runBatch`.
 */

/** What every batch of a run shares, stored on the run row. */
export interface RunContext {
  preparedAt: string;
  models: CurrentModels;
  feeds: FeedPresence;
  stale: StaleSource[];
  excluded: MeasureKey[];
  selected: number;
  /** A full run: the edges of its whole-base ranking (RFM quintiles, tiers). */
  population?: PopulationCuts | null;
  /** An incremental run: the full run whose edges placed its customers (null: ranked the whole base itself). */
  rankedBy?: string | null;
}

export interface FeedState {
  feeds: FeedPresence;
  stale: StaleSource[];
  excluded: MeasureKey[];
}

/**
 * Feed freshness per signal kind across the whole book (not per customer:
 * for one customer, silence is behaviour the measures score). A stale feed's
 * measures are left out for everyone and the card names the feed.
 */
export async function feedState(db: DbOrTrx, asOf: Date, staleAfterDays: number): Promise<FeedState> {
  const kinds = Object.keys(MEASURES_BY_SIGNAL_KIND);
  const [arrivals, human] = await Promise.all([feedArrivals(db, kinds, asOf), humanFeeds(db, asOf)]);
  const lastSeen: Record<string, Date> = {};
  const gaps: Record<string, number | null> = {};
  for (const a of arrivals) {
    lastSeen[a.kind] = a.lastAt;
    gaps[a.kind] = typicalGapDays(a.days);
  }
  const stale = staleSources(lastSeen, gaps, asOf, { staleAfterDays });
  return {
    feeds: {
      complaints: lastSeen.complaint !== undefined || human.complaintFeedback,
      payments: lastSeen.payment_failed !== undefined,
      interactions: human.interactions,
    },
    stale,
    excluded: [...measuresToExclude(stale)],
  };
}

export function runInputs(context: RunContext, settings: ScoringSettings): RunScoringInputs {
  // The health model fitted on the book's history: its learned weights when
  // they beat the configured ones out of sample, and the calibration that
  // turns health into a chance of churn (void for configured weights that
  // have changed since the fit).
  const health = parseHealthModel(context.models?.health?.model);
  let config = settings.health;
  let churn: ChurnCalibration | null = null;
  if (health) {
    if (health.use === 'learned') config = { ...config, weights: health.weights };
    if (health.calibration && calibrationApplies(health, settings.health.weights)) churn = { ...health.calibration, horizonDays: health.horizonDays };
  }
  return {
    config,
    churn,
    bgnbd: tameBgNbd(bgParams(context.models?.bgnbd?.params as unknown as Record<string, number>)),
    gammagamma: ggParams(context.models?.gammagamma?.params as unknown as Record<string, number>),
    feeds: context.feeds ?? { complaints: false, payments: false, interactions: false },
    excluded: context.excluded ?? [],
    staleTexts: (context.stale ?? []).map((s) => s.text),
    clv: settings.clv,
  };
}

export interface PrepareOptions {
  mode: 'full' | 'incremental';
  asOf?: Date;
  /** Id of the job that opened the run: a re-run of that job reuses the run. */
  jobKey?: string | null;
}

export interface PreparedRun {
  run: RunRow;
  batches: number;
  /** False when the run had already been prepared (a re-run of the job). */
  fresh: boolean;
}

/**
 * Opens (or reopens) a run and prepares it: models, feeds, population and
 * batches. Idempotent per job key. `settings` is the scoring config the
 * caller parsed for the whole run; without it, it is parsed here.
 */
export async function prepareRun(
  ctx: AppContext,
  opts: PrepareOptions,
  settings: ScoringSettings = scoringConfigFrom(ctx.config.settings),
): Promise<PreparedRun> {
  const { run, created } = await openRun(ctx.db, opts.mode, opts.asOf ?? ctx.clock.now(), opts.jobKey ?? null);
  if (!created && (run.context.preparedAt || run.status !== 'running')) {
    return { run, batches: run.batches_total, fresh: false };
  }
  await deleteOrphanPopulations(ctx.db);
  const models = await currentModels(ctx.db, { now: ctx.clock.now(), logger: ctx.logger });
  const feeds = await feedState(ctx.db, run.as_of, settings.staleAfterDays);
  const prepared = await ctx.db.transaction().execute(async (trx) => {
    // Two copies of the same job (a stalled one re-run) must not both write the population.
    const locked = await lockRun(trx, run.id);
    if (!locked || locked.context.preparedAt || locked.status !== 'running') return null;
    // An incremental run places its few changed customers by the last full
    // run's ranking edges; without a full run yet, it ranks the whole base.
    const previous = opts.mode === 'incremental' ? await latestFullRunCuts(trx, run.as_of) : null;
    const population = previous
      ? { ...(await writePopulationFromCuts(trx, { runId: run.id, asOf: run.as_of, batchSize: settings.batchSize, cuts: previous.cuts })), cuts: null }
      : await writePopulation(trx, {
          runId: run.id,
          asOf: run.as_of,
          select: opts.mode === 'full' ? 'all' : 'changed',
          batchSize: settings.batchSize,
          tiers: settings.tiers,
        });
    const context: RunContext = {
      preparedAt: ctx.clock.now().toISOString(),
      models,
      ...feeds,
      selected: population.customers,
      ...(opts.mode === 'full' ? { population: population.cuts } : { rankedBy: previous?.runId ?? null }),
    };
    await markRunPrepared(trx, run.id, population.batches, context as unknown as Record<string, unknown>);
    return population;
  });
  const after = (await getRun(ctx.db, run.id))!;
  if (!prepared) return { run: after, batches: after.batches_total, fresh: false };
  ctx.logger.info(
    { runId: run.id, kind: run.kind, customers: prepared.customers, batches: prepared.batches, stale: feeds.stale.map((s) => s.kind) },
    'scoring run prepared',
  );
  if (prepared.batches === 0) await deletePopulation(ctx.db, run.id);
  return { run: after, batches: prepared.batches, fresh: true };
}
