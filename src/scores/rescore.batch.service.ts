import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { aggregateBatch } from './facts.repository.js';
import { runScoresWrittenHooks, type RunInfo, type ScoredCustomer } from './hooks.js';
import { deletePopulation } from './population.repository.js';
import { runInputs, type RunContext } from './rescore.prepare.service.js';
import { batchCounted, finishBatch, getRun, type RunRow } from './run.repository.js';
import { storedScores, writeScores } from './score.repository.js';
import { newPatternMemo, scoreCustomer, type ComputedScore, type PatternMemo, type RunScoringInputs } from './score.rules.js';
import type { Band } from './score.table.js';
import { scoringConfigFrom, type ScoringSettings } from './scoring.config.js';

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
 * its hooks run again, from the stored rows. `settings` is the scoring config
 * an in-process run parsed once for all its batches; a `rescoreBatch` job,
 * which arrives on its own, parses it here.
 */
export async function runBatch(ctx: AppContext, input: BatchInput, settings?: ScoringSettings): Promise<BatchResult> {
  const started = performance.now();
  const run = await getRun(ctx.db, input.runId);
  if (!run) return { scored: 0, skipped: input.customerIds.length, rerun: false, closedRun: false };
  const info: RunInfo = { id: run.id, kind: run.kind, asOf: run.as_of };
  if (await batchCounted(ctx.db, run.id, input.batch)) {
    const stored = await storedScores(ctx.db, run.id, input.customerIds);
    await runScoresWrittenHooks(ctx, info, stored);
    return { scored: stored.length, skipped: 0, rerun: true, closedRun: false };
  }

  const context = run.context as unknown as RunContext;
  const inputs = runInputs(context, settings ?? scoringConfigFrom(ctx.config.settings));
  const facts = await aggregateBatch(ctx.db, { runId: run.id, batch: input.batch, customerIds: input.customerIds, asOf: run.as_of });
  const memo = runPatternMemo(run, inputs);
  const scores: ComputedScore[] = [];
  for (const f of facts) {
    const s = scoreCustomer(f, inputs, memo);
    if (s) scores.push(s);
  }
  const staleTexts = inputs.staleTexts;
  const seen = new Map(facts.map((f) => [f.customerId, f.dataChangedAt ?? null]));
  const { written, finish } = await ctx.db.transaction().execute(async (trx) => {
    const written = await writeScores(trx, run.id, run.as_of, staleTexts, scores, seen);
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
