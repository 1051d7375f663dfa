import type { AppContext } from '../platform/context.js';
import { claimNotification, claimNotifications, getNotificationByKey, resetFailed, type NewNotification } from './outbox.repository.js';
import { createPacer, DELIVERY_LEAD_MS, type Pacer } from './pacing.js';

export type { NewNotification } from './outbox.repository.js';

/** Job id of a row's delivery: no ':' and not all digits (STACK.md trap 7). */
export const deliveryJobId = (notificationId: string) => `deliver-${notificationId}`;

const pacers = new WeakMap<AppContext, Pacer>();
/** The Redis pacer shared by producers (slot reservation) and the delivery job (gate). */
export function pacerFor(ctx: AppContext): Pacer | null {
  if (!ctx.queues) return null;
  let p = pacers.get(ctx);
  if (!p) {
    p = createPacer(ctx.queues.connection, ctx.queues.prefix, ctx.config.settings.pacing);
    pacers.set(ctx, p);
  }
  return p;
}

/**
 * Every message to Slack goes through here: claim the de-duplication key in
 * Postgres (a second claim is a no-op), then hand the row to the delivery
 * queue. If Redis is down the row stays pending and the outbox sweep enqueues
 * it later — the message is late, never lost, never doubled.
 */
export async function enqueueNotification(ctx: AppContext, n: NewNotification): Promise<{ id: string; created: boolean }> {
  const id = await claimNotification(ctx.db, n);
  if (id === null) {
    const existing = await getNotificationByKey(ctx.db, n.dedupeKey);
    return { id: existing!.id, created: false };
  }
  await scheduleDelivery(ctx, [{ id, channel_id: n.channel }]);
  return { id, created: true };
}

/** Claim many keys in one statement, then schedule the new rows; returns how many were new. */
export async function enqueueNotifications(ctx: AppContext, list: NewNotification[]): Promise<number> {
  let created = 0;
  for (let i = 0; i < list.length; i += 1000) {
    const rows = await claimNotifications(ctx.db, list.slice(i, i + 1000));
    await scheduleDelivery(ctx, rows);
    created += rows.length;
  }
  return created;
}

/**
 * Enqueue delivery jobs for claimed rows. Each gets its channel's next send
 * slot now and sits in the delayed set until then, so a burst to one channel
 * is spread at one per second instead of waking all at once.
 */
export async function scheduleDelivery(ctx: AppContext, rows: { id: string; channel_id: string }[]): Promise<void> {
  if (!ctx.queues || rows.length === 0) return;
  try {
    const pacer = pacerFor(ctx);
    const now = Date.now();
    const slots = pacer ? await pacer.reserve(rows.map((r) => r.channel_id), now) : rows.map(() => now);
    await ctx.queues.addBulk(
      'deliver',
      rows.map((r, i) => {
        const slotAt = slots[i]!;
        return {
          data: { notificationId: r.id, slotAt, channel: r.channel_id },
          opts: { jobId: deliveryJobId(r.id), ...(slotAt - DELIVERY_LEAD_MS > now ? { delay: slotAt - DELIVERY_LEAD_MS - now } : {}) },
        };
      }),
    );
  } catch (error) {
    ctx.logger.warn({ count: rows.length, err: (error as Error).message }, 'could not enqueue delivery; the outbox sweep will retry');
  }
}

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * Give rows whose job is gone (or finished without finishing the row) a new
 * job. A finished job keeps its id for a while (retention), and BullMQ
 * ignores an add with a known id, so the old one is removed first.
 */
export async function requeueStranded(ctx: AppContext, rows: { id: string; channel_id: string }[]): Promise<number> {
  if (!ctx.queues || rows.length === 0) return 0;
  const queue = ctx.queues.queue('delivery');
  const lost: { id: string; channel_id: string }[] = [];
  for (const row of rows) {
    const job = await queue.getJob(deliveryJobId(row.id));
    if (job) {
      const state = await job.getState();
      if (LIVE_STATES.has(state)) continue;
      try {
        await job.remove();
      } catch (error) {
        ctx.logger.warn({ notification: row.id, err: (error as Error).message }, 'could not remove a finished delivery job');
        continue;
      }
    }
    lost.push(row);
  }
  await scheduleDelivery(ctx, lost);
  return lost.length;
}

/** `retain outbox --retry`: failed rows back to pending, with a fresh job each. */
export async function retryFailed(ctx: AppContext, ids?: string[]): Promise<number> {
  const rows = await resetFailed(ctx.db, ids);
  await requeueStranded(ctx, rows);
  return rows.length;
}
