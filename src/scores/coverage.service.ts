import type { AppContext } from '../platform/context.js';
import type { Db } from '../platform/db.js';
import { coverageOf } from './coverage.repository.js';

/**
 * What the lookup card says about a score in the making:
 * - 'scoring': the customer has data no score has read, and a run is open or
 *   queued — it is being scored now;
 * - 'waiting': such data, but no run open or queued (no worker has taken it);
 * - 'current': the score covers everything known (or, never scored, there is
 *   nothing to score yet).
 */
export type ScoringStatus = 'scoring' | 'waiting' | 'current';

const QUEUE_CHECK_MS = 300;

/** `db`: where the card reads this customer (the primary right after a change to it). */
export async function scoringStatusOf(ctx: AppContext, customerId: string, db: Db = ctx.readDb): Promise<ScoringStatus> {
  const coverage = await coverageOf(db, customerId);
  if (!coverage?.pending) return 'current';
  if (coverage.runOpen) return 'scoring';
  return (await rescoreQueued(ctx)) ? 'scoring' : 'waiting';
}

/** A rescore (or its batches) waiting, delayed or running — a quick, bounded look; unknown counts as queued. */
async function rescoreQueued(ctx: AppContext): Promise<boolean> {
  if (!ctx.queues) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const counts = await Promise.race([
      ctx.queues.queue('scoring').getJobCounts('waiting', 'delayed', 'active', 'prioritized'),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), QUEUE_CHECK_MS);
      }),
    ]);
    if (!counts) return true;
    return Object.values(counts).some((n) => n > 0);
  } catch {
    return true;
  } finally {
    clearTimeout(timer);
  }
}
