import type { AppContext } from '../platform/context.js';
import { hasChangedCustomers } from './population.repository.js';
import { fullRunState } from './run.repository.js';

/**
 * Several workers starting together ask once: while one start-up run is
 * queued or running, no other is added (BullMQ deduplication in simple mode,
 * until that job completes or fails) — a later restart asks again.
 */
const START_DEDUPLICATION = { id: 'rescore-on-start' };

/**
 * When a worker starts: customers never scored (a fresh install, a first
 * import) or changed while no worker ran are scored at once — by a full run
 * while the book has never had one (RFM and tier edges come from it), else
 * an incremental one. Nothing is asked for while the first full run is under
 * way: it is scoring them.
 */
export async function catchUpScoring(ctx: AppContext): Promise<'full' | 'incremental' | null> {
  if (!ctx.queues) return null;
  const [full, pending] = await Promise.all([fullRunState(ctx.db), hasChangedCustomers(ctx.db)]);
  if (!pending || full === 'running') return null;
  const mode = full === 'none' ? 'full' : 'incremental';
  await ctx.queues.add('rescore', { mode, reason: 'start' }, { deduplication: START_DEDUPLICATION });
  ctx.logger.info({ mode }, 'customers with unscored data at start-up: scoring run queued');
  return mode;
}
