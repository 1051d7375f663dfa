import { DelayedError, type Job } from 'bullmq';
import type { HandlerMap } from '../jobs/worker.js';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { listStrandedIds, getNotification, markFailed, markNotPosted, markSending, markSent } from './outbox.repository.js';
import { scheduleDelivery } from './outbox.service.js';
import { createPacer, type Pacer } from './pacing.js';
import { classifySlackError } from './slack-errors.js';

const METADATA_TYPE = 'retain_notification';
/** A slot this close is taken now rather than by a round trip through the delayed set. */
const SLOT_TOLERANCE_MS = 25;

const pacers = new WeakMap<AppContext, Pacer>();
function pacerFor(ctx: AppContext): Pacer | null {
  if (!ctx.queues) return null;
  let p = pacers.get(ctx);
  if (!p) {
    const { perChannelMs, globalPerSecond } = ctx.config.settings.pacing;
    p = createPacer(ctx.queues.connection, ctx.queues.prefix, perChannelMs, globalPerSecond);
    pacers.set(ctx, p);
  }
  return p;
}

async function delayTo(job: Job, token: string | undefined, data: Record<string, unknown>, at: number): Promise<never> {
  await job.updateData(data);
  await job.moveToDelayed(at, token);
  throw new DelayedError();
}

/**
 * Deliver one outbox row, exactly once:
 * 1. a sent or failed row is done (jobs run at least once);
 * 2. reserve a per-channel pacing slot, and wait for it in the delayed set;
 * 3. a row left 'sending' by a crashed attempt is first looked up in Slack by
 *    the metadata key stamped on every post, so it is never posted twice;
 * 4. post, then record the ts. A 429 waits out Retry-After without using an
 *    attempt; a permanent Slack error fails the row for good with its reason.
 */
export async function deliverNotification(ctx: AppContext, data: { notificationId: string; slotAt?: number | undefined }, job: Job, token: string | undefined) {
  const row = await getNotification(ctx.db, data.notificationId);
  if (!row || row.status === 'sent' || row.status === 'failed') return { skipped: row?.status ?? 'missing' };

  const pacer = pacerFor(ctx);
  const now = Date.now();
  if (pacer && (data.slotAt === undefined || data.slotAt < now - 60_000)) {
    const slot = await pacer.reserve(row.channel_id, now);
    if (slot - now > SLOT_TOLERANCE_MS) await delayTo(job, token, { ...data, slotAt: slot }, slot);
  } else if (data.slotAt !== undefined && data.slotAt - now > SLOT_TOLERANCE_MS) {
    await delayTo(job, token, data, data.slotAt);
  }

  try {
    if (row.status === 'sending' && row.posted_channel_id && row.sending_started_at) {
      const since = Math.floor(new Date(row.sending_started_at).getTime() / 1000) - 5;
      const ts = await ctx.slack.findPosted(row.posted_channel_id, since, METADATA_TYPE, row.dedupe_key);
      if (ts) {
        await markSent(ctx.db, row.id, row.posted_channel_id, ts);
        return { recovered: ts };
      }
    }
    const channel = /^[UW][A-Z0-9]+$/.test(row.channel_id) ? await ctx.slack.openDm(row.channel_id) : row.channel_id;
    if (!(await markSending(ctx.db, row.id, channel))) return { skipped: 'raced' };
    const payload = row.payload;
    const posted = await ctx.slack.postMessage({
      channel,
      text: payload.text,
      ...(payload.blocks ? { blocks: payload.blocks } : {}),
      ...(payload.thread_ts ? { thread_ts: payload.thread_ts } : {}),
      metadata: { event_type: METADATA_TYPE, event_payload: { key: row.dedupe_key } },
    });
    await markSent(ctx.db, row.id, posted.channel, posted.ts);
    metrics.notificationsSent.inc({ kind: row.kind });
    return { ts: posted.ts };
  } catch (error) {
    if (error instanceof DelayedError) throw error;
    const verdict = classifySlackError(error);
    if (verdict.kind === 'rate_limited') {
      metrics.slack429.inc({ method: 'chat.postMessage' });
      const until = Date.now() + verdict.retryAfterMs;
      await pacer?.block(row.channel_id, until);
      await markNotPosted(ctx.db, row.id, 'rate limited by Slack');
      // Waiting out Retry-After is not a failed attempt.
      return delayTo(job, token, { notificationId: data.notificationId, slotAt: until }, until);
    }
    if (verdict.kind === 'permanent') {
      await markFailed(ctx.db, row.id, verdict.reason);
      metrics.notificationsFailed.inc({ kind: row.kind, reason: verdict.reason });
      ctx.logger.warn({ notification: row.id, kind: row.kind, reason: verdict.reason }, 'notification failed for good');
      return { failed: verdict.reason };
    }
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) {
      await markFailed(ctx.db, row.id, `gave up after ${attempts} attempts: ${verdict.reason}`);
      metrics.notificationsFailed.inc({ kind: row.kind, reason: 'retries_exhausted' });
    }
    throw error;
  }
}

export const deliveryHandlers: HandlerMap = {
  deliver: (ctx, data, job, token) => deliverNotification(ctx, data, job, token),
  sweepOutbox: async (ctx) => {
    const ids = await listStrandedIds(ctx.db, 60);
    await scheduleDelivery(ctx, ids);
    return { requeued: ids.length };
  },
};
