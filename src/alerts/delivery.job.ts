import { DelayedError, type Job } from 'bullmq';
import type { HandlerMap } from '../jobs/worker.js';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { getNotification, listStranded, markFailed, markNotPosted, markSending, markSent, noteError } from './outbox.repository.js';
import { pacerFor, requeueStranded } from './outbox.service.js';
import { classifySlackError } from './slack-errors.js';

export const METADATA_TYPE = 'retain_notification';
/** A slot this close is waited for in-process rather than by a round trip through the delayed set. */
const INLINE_WAIT_MS = 40;
/** A reserved slot older than this was lost (worker down): reserve a fresh one. */
const STALE_SLOT_MS = 60_000;

type DeliverData = { notificationId: string; slotAt?: number | undefined; globalAt?: number | undefined };

async function delayTo(job: Job, token: string | undefined, data: DeliverData, at: number): Promise<never> {
  await job.updateData(data);
  await job.moveToDelayed(Math.ceil(at), token);
  throw new DelayedError();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Deliver one outbox row, exactly once:
 * 1. a sent or failed row is done (jobs run at least once);
 * 2. wait for the channel slot reserved at enqueue (in the delayed set);
 * 3. pass the pacing gate: ≥ spacing since the channel's last post, and a
 *    global slot; otherwise wait again (an early or overtaken job);
 * 4. a row left 'sending' by a crashed attempt is first looked up in Slack by
 *    the metadata key stamped on every post, so it is never posted twice;
 * 5. post, then record the ts. A 429 waits out Retry-After without using an
 *    attempt; a permanent Slack error fails the row for good with its reason.
 */
export async function deliverNotification(ctx: AppContext, data: DeliverData, job: Job, token: string | undefined) {
  const row = await getNotification(ctx.db, data.notificationId);
  if (!row || row.status === 'sent' || row.status === 'failed') return { skipped: row?.status ?? 'missing' };

  const pacer = pacerFor(ctx);
  if (pacer) {
    let now = Date.now();
    let slotAt = data.slotAt;
    if (slotAt === undefined || slotAt < now - STALE_SLOT_MS) {
      [slotAt] = await pacer.reserve([row.channel_id], now);
      if (slotAt! - now > INLINE_WAIT_MS) await delayTo(job, token, { ...data, slotAt }, slotAt!);
    } else if (slotAt - now > INLINE_WAIT_MS) {
      await delayTo(job, token, data, slotAt);
    }
    let holdsGlobal = data.globalAt !== undefined;
    for (;;) {
      now = Date.now();
      const verdict = await pacer.gate(row.channel_id, holdsGlobal, now);
      if (verdict.go) break;
      if (verdict.globalSlot) holdsGlobal = true;
      if (verdict.until - now > INLINE_WAIT_MS) {
        await delayTo(job, token, { notificationId: data.notificationId, slotAt: verdict.until, ...(holdsGlobal ? { globalAt: verdict.until } : {}) }, verdict.until);
      }
      await sleep(Math.max(1, verdict.until - now));
    }
  }

  try {
    if (row.status === 'sending' && row.posted_channel_id && row.sending_started_at) {
      const since = Math.floor(new Date(row.sending_started_at).getTime() / 1000) - 5;
      const ts = await ctx.slack.findPosted(row.posted_channel_id, since, METADATA_TYPE, row.dedupe_key);
      if (ts) {
        await markSent(ctx.db, row.id, row.posted_channel_id, ts);
        metrics.notificationsSent.inc({ kind: row.kind });
        return { recovered: ts };
      }
    }
    const isUser = /^[UW][A-Z0-9]+$/.test(row.channel_id);
    const channel = isUser ? (row.posted_channel_id ?? (await ctx.slack.openDm(row.channel_id))) : row.channel_id;
    if (!(await markSending(ctx.db, row.id, channel))) return { skipped: 'raced' };
    const payload = row.payload;
    let posted: { ts: string; channel: string };
    try {
      posted = await ctx.slack.postMessage({
        channel,
        text: payload.text,
        ...(payload.blocks ? { blocks: payload.blocks } : {}),
        ...(payload.thread_ts ? { thread_ts: payload.thread_ts } : {}),
        metadata: { event_type: METADATA_TYPE, event_payload: { key: row.dedupe_key } },
      });
    } finally {
      await pacer?.posted(row.channel_id);
    }
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
      // A 429 means Slack did not take the message: back to pending, and the
      // try is not counted — neither on the row nor by BullMQ (moveToDelayed).
      await markNotPosted(ctx.db, row.id, 'rate limited by Slack');
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
    } else {
      // Stays 'sending' when the post may have reached Slack (timeout, 5xx):
      // the retry looks it up before posting again.
      await noteError(ctx.db, row.id, verdict.reason);
    }
    throw error;
  }
}

export const deliveryHandlers: HandlerMap = {
  deliver: (ctx, data, job, token) => deliverNotification(ctx, data, job, token),
  sweepOutbox: async (ctx) => {
    const rows = await listStranded(ctx.db, 60);
    const requeued = await requeueStranded(ctx, rows);
    return { stranded: rows.length, requeued };
  },
};
