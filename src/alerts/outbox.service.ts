import type { AppContext } from '../platform/context.js';
import { claimNotification, getNotificationByKey, type NewNotification } from './outbox.repository.js';

export type { NewNotification } from './outbox.repository.js';

/** Job id of a row's delivery: no ':' and not all digits (STACK.md trap 7). */
export const deliveryJobId = (notificationId: string) => `deliver-${notificationId}`;

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
  await scheduleDelivery(ctx, [id]);
  return { id, created: true };
}

export async function scheduleDelivery(ctx: AppContext, ids: string[]): Promise<void> {
  if (!ctx.queues || ids.length === 0) return;
  try {
    await ctx.queues.addBulk(
      'deliver',
      ids.map((id) => ({ data: { notificationId: id }, opts: { jobId: deliveryJobId(id) } })),
    );
  } catch (error) {
    ctx.logger.warn({ count: ids.length, err: (error as Error).message }, 'could not enqueue delivery; the outbox sweep will retry');
  }
}
