import { sql } from 'kysely';
import type { AppContext } from '../platform/context.js';
import type { DbOrTrx } from '../platform/db.js';
import { metrics } from '../platform/metrics.js';
import {
  measuresToExclude,
  MEASURES_BY_SIGNAL_KIND,
  staleSources,
  typicalGapDays,
  type MeasureKey,
  type StaleSource,
} from '../scoring/index.js';
import { bgParams, currentModels, ggParams, type CurrentModels } from './fit.service.js';
import { runScoresWrittenHooks, type RunInfo, type ScoredCustomer } from './hooks.js';
import { aggregateBatch, feedArrivals, humanFeeds } from './facts.repository.js';
import {
  batchCustomerIds,
  deleteOrphanPopulations,
  deletePopulation,
  latestFullRunCuts,
  writePopulation,
  writePopulationFromCuts,
  type PopulationCuts,
} from './population.repository.js';
import { failRun, finishBatch, getRun, lockRun, markRunPrepared, openRun, openRuns, unfinishedBatches, type RunRow } from './run.repository.js';
import { runSummary, writeScores, type RunSummary } from './score.repository.js';
import {
  newPatternMemo,
  pAliveInformative,
  scoreCustomer,
  tameBgNbd,
  type ComputedScore,
  type FeedPresence,
  type PatternMemo,
  type RunScoringInputs,
} from './score.rules.js';
import type { Band, StoredDriver, Tier } from './score.table.js';
import { scoringConfigFrom, type ScoringSettings } from './scoring.config.js';

/**
 * Scoring runs (DESIGN.md §2, §5, §7): a run is prepared once (models, feed
 * freshness, population-level RFM and tiers, batch assignment), then scored
 * in independent batches — by BullMQ workers (`rescore` → `rescoreBatch`
 * jobs) or in-process (`retain rescore`), through the same `runBatch`.
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
  return {
    config: settings.health,
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

/** Opens (or reopens) a run and prepares it: models, feeds, population and batches. Idempotent per job key. */
export async function prepareRun(ctx: AppContext, opts: PrepareOptions): Promise<PreparedRun> {
  const settings = scoringConfigFrom(ctx.config.settings);
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

/** Batch ids per chunk, in batch order, without holding every id in memory at once. */
export async function* runBatches(db: DbOrTrx, run: RunRow, chunk = 50): AsyncGenerator<{ batch: number; ids: string[] }[]> {
  for (let from = 0; from < run.batches_total; from += chunk) {
    const rows = await batchCustomerIds(db, run.id, from, Math.min(run.batches_total, from + chunk));
    if (rows.length) yield rows;
  }
}

export function batchJobId(runId: string, batch: number): string {
  return `rb-${runId}-${batch}`;
}

/** Fans the run out as `rescoreBatch` jobs; deterministic ids make a re-run of this step add nothing twice. */
export async function enqueueBatches(ctx: AppContext, run: RunRow): Promise<number> {
  if (!ctx.queues) throw new Error('enqueueBatches needs the job queues');
  let n = 0;
  for await (const rows of runBatches(ctx.db, run)) {
    await ctx.queues.addBulk(
      'rescoreBatch',
      rows.map((r) => ({ data: { runId: run.id, batch: r.batch, customerIds: r.ids }, opts: { jobId: batchJobId(run.id, r.batch) } })),
    );
    n += rows.length;
  }
  return n;
}

/** A run with no progress (no batch finished) for this long has its lost batch jobs re-added. */
export const RUN_STALLED_AFTER_MS = 15 * 60_000;
/** A run still open this long after it started is given up: the next run scores everyone again. */
export const RUN_ABANDONED_AFTER_MS = 24 * 3600_000;
const LIVE_JOB_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

export interface WatchResult {
  stalled: number;
  requeued: number;
  abandoned: number;
}

/**
 * The run watchdog (every 10 minutes): a run only closes when its last batch
 * is counted, so batch jobs lost from Redis (an outage, a flush) would leave
 * it open for good. A run that has not moved for RUN_STALLED_AFTER_MS gets
 * its uncounted batches re-added — those whose job is not queued or running;
 * batch ids are deterministic and batches idempotent, so nothing is scored
 * twice. A run open for a day is marked failed.
 */
export async function watchRuns(ctx: AppContext): Promise<WatchResult> {
  const out: WatchResult = { stalled: 0, requeued: 0, abandoned: 0 };
  if (!ctx.queues) return out;
  const now = ctx.clock.now().getTime();
  const queue = ctx.queues.queue('scoring');
  for (const run of await openRuns(ctx.db)) {
    if (now - run.started_at.getTime() > RUN_ABANDONED_AFTER_MS) {
      await failRun(ctx.db, run.id, 'abandoned: the run did not finish within a day');
      await deletePopulation(ctx.db, run.id);
      ctx.logger.warn({ runId: run.id, kind: run.kind }, 'scoring run abandoned after a day');
      out.abandoned++;
      continue;
    }
    // Not prepared yet: its rescore job prepares it (or BullMQ retries that job).
    if (!run.context.preparedAt || now - run.last_progress_at.getTime() < RUN_STALLED_AFTER_MS) continue;
    out.stalled++;
    const lost: number[] = [];
    for (const batch of await unfinishedBatches(ctx.db, run.id, run.batches_total)) {
      const job = await queue.getJob(batchJobId(run.id, batch));
      if (job && LIVE_JOB_STATES.has(await job.getState())) continue;
      if (job) await job.remove().catch(() => undefined); // finished without counting: clear its id for the new one
      lost.push(batch);
    }
    if (lost.length === 0) continue;
    const rows = await batchCustomerIds(ctx.db, run.id, 0, run.batches_total, 'run_population', lost);
    await ctx.queues.addBulk(
      'rescoreBatch',
      rows.map((r) => ({ data: { runId: run.id, batch: r.batch, customerIds: r.ids }, opts: { jobId: batchJobId(run.id, r.batch) } })),
    );
    out.requeued += rows.length;
    ctx.logger.warn({ runId: run.id, kind: run.kind, batches: rows.length }, 'scoring run had lost batch jobs: re-added');
  }
  return out;
}

export interface BatchInput {
  runId: string;
  batch: number;
  customerIds: readonly string[];
}

export interface BatchResult {
  scored: number;
  skipped: number;
  /** The batch had already been counted (a re-run): nothing was rewritten, hooks ran again. */
  rerun: boolean;
  closedRun: boolean;
}

function toScored(s: ComputedScore, prev: { previousHealth: number | null; previousBand: Band | null }, scoredAt: Date): ScoredCustomer {
  return {
    customerId: s.customerId,
    health: s.health,
    band: s.band,
    previousHealth: prev.previousHealth,
    previousBand: prev.previousBand,
    pAlive: s.pAlive,
    tier: s.tier,
    drivers: s.drivers,
    scoredAt,
  };
}

/**
 * Model values by purchase pattern, shared by the batches of a run that this
 * process scores: the patterns repeat across batches (a few thousand in a
 * book of a million), and the series behind CLV dominates the scoring's CPU.
 * The key covers everything the values depend on, so a run re-read with other
 * inputs starts afresh; the map is bounded.
 */
const MAX_SHARED_PATTERNS = 200_000;
let sharedMemo: { key: string; memo: PatternMemo } | null = null;

function runPatternMemo(run: RunRow, inputs: RunScoringInputs): PatternMemo {
  const key = JSON.stringify([run.id, run.as_of.getTime(), inputs.bgnbd, inputs.gammagamma, inputs.clv]);
  if (!sharedMemo || sharedMemo.key !== key || sharedMemo.memo.size > MAX_SHARED_PATTERNS) {
    sharedMemo = { key, memo: newPatternMemo() };
  }
  return sharedMemo.memo;
}

/**
 * Scores one batch: one aggregate statement, the pure scoring in TypeScript,
 * one write per table, the batch counted towards its run in the same
 * transaction; then the scores-written hooks (churn warnings). A batch
 * already counted is not rewritten (its population rows may be gone); only
 * its hooks run again, from the stored rows.
 */
export async function runBatch(ctx: AppContext, input: BatchInput): Promise<BatchResult> {
  const started = performance.now();
  const run = await getRun(ctx.db, input.runId);
  if (!run) return { scored: 0, skipped: input.customerIds.length, rerun: false, closedRun: false };
  const info: RunInfo = { id: run.id, kind: run.kind, asOf: run.as_of };
  const counted = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM scoring_run_batches WHERE run_id = ${run.id} AND batch = ${input.batch}`.execute(ctx.db);
  if ((counted.rows[0]?.n ?? 0) > 0) {
    const stored = await storedScores(ctx.db, run.id, input.customerIds);
    await runScoresWrittenHooks(ctx, info, stored);
    return { scored: stored.length, skipped: 0, rerun: true, closedRun: false };
  }

  const settings = scoringConfigFrom(ctx.config.settings);
  const context = run.context as unknown as RunContext;
  const inputs = runInputs(context, settings);
  const facts = await aggregateBatch(ctx.db, { runId: run.id, batch: input.batch, customerIds: input.customerIds, asOf: run.as_of });
  const memo = runPatternMemo(run, inputs);
  const scores: ComputedScore[] = [];
  for (const f of facts) {
    const s = scoreCustomer(f, inputs, memo);
    if (s) scores.push(s);
  }
  const staleTexts = inputs.staleTexts;
  const { written, finish } = await ctx.db.transaction().execute(async (trx) => {
    const written = await writeScores(trx, run.id, run.as_of, staleTexts, scores);
    const finish = await finishBatch(trx, run.id, input.batch, { status: 'done', customersScored: scores.length });
    return { written, finish };
  });
  if (finish.closedRun) await closeRun(ctx, run);
  metrics.rescoreDuration.observe({ scope: 'batch', kind: run.kind }, (performance.now() - started) / 1000);
  if (finish.counted) metrics.customersScored.inc({ kind: run.kind }, scores.length);

  const byId = new Map(scores.map((s) => [s.customerId, s]));
  const scored: ScoredCustomer[] = [];
  for (const w of written) {
    const s = byId.get(w.customerId);
    if (s) scored.push(toScored(s, w, run.as_of));
  }
  await runScoresWrittenHooks(ctx, info, scored);
  return { scored: scores.length, skipped: facts.length - scores.length, rerun: false, closedRun: finish.closedRun };
}

/** A batch that failed for good still counts as finished, so the run can close. */
export async function failBatch(ctx: AppContext, input: BatchInput, error: string): Promise<void> {
  const run = await getRun(ctx.db, input.runId);
  if (!run) return;
  const finish = await finishBatch(ctx.db, run.id, input.batch, { status: 'failed', error });
  ctx.logger.error({ runId: run.id, batch: input.batch, err: error }, 'scoring batch failed for good; the run goes on without it');
  if (finish.closedRun) await closeRun(ctx, run);
}

async function closeRun(ctx: AppContext, run: RunRow): Promise<void> {
  await deletePopulation(ctx.db, run.id);
  const closed = await getRun(ctx.db, run.id);
  if (closed?.finished_at) {
    metrics.rescoreDuration.observe({ scope: 'run', kind: run.kind }, (closed.finished_at.getTime() - closed.started_at.getTime()) / 1000);
  }
  ctx.logger.info(
    { runId: run.id, kind: run.kind, customers: closed?.customers_scored, batches: closed?.batches_total, failed: closed?.batches_failed },
    'scoring run finished',
  );
}

async function storedScores(db: DbOrTrx, runId: string, ids: readonly string[]): Promise<ScoredCustomer[]> {
  const rows = await db
    .selectFrom('customer_scores')
    .select(['customer_id', 'health', 'band', 'previous_health', 'previous_band', 'p_alive', 'tier', 'drivers', 'scored_at'])
    .where('run_id', '=', runId)
    .where('customer_id', 'in', ids.length ? [...ids] : ['0'])
    .execute();
  return rows.map((r) => ({
    customerId: String(r.customer_id),
    health: r.health,
    band: r.band,
    previousHealth: r.previous_health,
    previousBand: r.previous_band,
    pAlive: r.p_alive,
    tier: r.tier as Tier | null,
    drivers: (r.drivers ?? []) as StoredDriver[],
    scoredAt: new Date(r.scored_at),
  }));
}

export interface RescoreResult {
  run: RunRow;
  summary: RunSummary;
  ms: number;
}

/**
 * One run now, in this process, through the same batch code the workers use
 * (`retain rescore`). Batches run `concurrency` at a time.
 */
export async function rescoreNow(ctx: AppContext, opts: { mode: 'full' | 'incremental'; asOf?: Date; concurrency?: number }): Promise<RescoreResult> {
  const started = performance.now();
  const prepared = await prepareRun(ctx, { mode: opts.mode, ...(opts.asOf ? { asOf: opts.asOf } : {}) });
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  for await (const rows of runBatches(ctx.db, prepared.run)) {
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const r = rows[next++]!;
        const input = { runId: prepared.run.id, batch: r.batch, customerIds: r.ids };
        try {
          await runBatch(ctx, input);
        } catch (e) {
          // One retry in-process, then the batch counts as failed and the run goes on.
          try {
            await runBatch(ctx, input);
          } catch (again) {
            await failBatch(ctx, input, (again as Error).message ?? String(again));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  }
  const run = (await getRun(ctx.db, prepared.run.id))!;
  return { run, summary: await runSummary(ctx.db, run.id), ms: performance.now() - started };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function formatRescoreSummary(r: RescoreResult): string[] {
  const { run, summary } = r;
  const secs = (r.ms / 1000).toFixed(1);
  const lines = [
    `${run.kind} run ${run.id} ${run.status}: ${plural(run.customers_scored, 'customer')} scored in ${secs}s ` +
      `(${plural(run.batches_total, 'batch', 'batches')}${run.batches_failed ? `, ${run.batches_failed} failed` : ''})`,
    `bands: green ${summary.bands.green}, yellow ${summary.bands.yellow}, red ${summary.bands.red}`,
    `changed band: ${summary.changedBand}${summary.firstScored ? ` (first score for ${summary.firstScored})` : ''}`,
  ];
  const context = run.context as unknown as Partial<RunContext>;
  if (context.stale?.length) lines.push(`stale feeds (left out of every score): ${context.stale.map((s) => s.text).join('; ')}`);
  if (!context.models?.bgnbd) lines.push('no purchase model yet (no orders): P(alive) and CLV are left out');
  else if (!pAliveInformative(bgParams(context.models.bgnbd.params as unknown as Record<string, number>))) {
    lines.push('the purchase model sees no dropout in this book (very regular ordering): P(alive) is left out of the scores');
  }
  return lines;
}
