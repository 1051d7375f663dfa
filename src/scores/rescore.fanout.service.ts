import type { AppContext } from '../platform/context.js';
import type { DbOrTrx } from '../platform/db.js';
import { batchCustomerIds } from './population.repository.js';
import type { RunRow } from './run.repository.js';

/** A prepared run's batches, read back from its population and handed out as `rescoreBatch` jobs. */

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

/**
 * A full run's batches queue behind everything else on the scoring queue
 * (BullMQ takes jobs without a priority first): a run that follows a change
 * in data is scored within seconds, not after the nightly run's last batch.
 */
export const FULL_RUN_BATCH_PRIORITY = 10;

export function batchJobOptions(run: Pick<RunRow, 'id' | 'kind'>, batch: number): { jobId: string; priority?: number } {
  return { jobId: batchJobId(run.id, batch), ...(run.kind === 'full' ? { priority: FULL_RUN_BATCH_PRIORITY } : {}) };
}

/** Fans the run out as `rescoreBatch` jobs; deterministic ids make a re-run of this step add nothing twice. */
export async function enqueueBatches(ctx: AppContext, run: RunRow): Promise<number> {
  if (!ctx.queues) throw new Error('enqueueBatches needs the job queues');
  let n = 0;
  for await (const rows of runBatches(ctx.db, run)) {
    await ctx.queues.addBulk(
      'rescoreBatch',
      rows.map((r) => ({ data: { runId: run.id, batch: r.batch, customerIds: r.ids }, opts: batchJobOptions(run, r.batch) })),
    );
    n += rows.length;
  }
  return n;
}
