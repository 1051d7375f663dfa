import type { AppContext } from '../platform/context.js';
import { batchCustomerIds, deletePopulation } from './population.repository.js';
import { batchJobId, batchJobOptions } from './rescore.fanout.service.js';
import { failRun, openRuns, unfinishedBatches } from './run.repository.js';

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
export async function watchRuns(ctx: AppContext, opts: { stalledAfterMs?: number } = {}): Promise<WatchResult> {
  // 0 when Redis is known to have lost its jobs: no reason to wait for a run to look stalled.
  const stalledAfterMs = opts.stalledAfterMs ?? RUN_STALLED_AFTER_MS;
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
    if (!run.context.preparedAt || now - run.last_progress_at.getTime() < stalledAfterMs) continue;
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
      rows.map((r) => ({ data: { runId: run.id, batch: r.batch, customerIds: r.ids }, opts: batchJobOptions(run, r.batch) })),
    );
    out.requeued += rows.length;
    ctx.logger.warn({ runId: run.id, kind: run.kind, batches: rows.length }, 'scoring run had lost batch jobs: re-added');
  }
  return out;
}
