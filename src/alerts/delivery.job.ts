import { DelayedError, type Job } from 'bullmq';
import type { HandlerMap } from '../jobs/worker.js';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { createBatcher, type Batched } from './batcher.js';
import { claimForSending, getNotification, listStranded, markFailed, markNotPosted, markSentMany, noteError, releaseClaim, type ClaimedForSending } from './outbox.repository.js';
import { pacerFor, requeueStranded } from './outbox.service.js';
import { DELIVERY_LEAD_MS } from './pacing.js';
import { classifySlackError } from './slack-errors.js';

export const METADATA_TYPE = 'retain_notification';
/**
 * A wait this short happens in-process (holding the claim) rather than by a
 * round trip through the delayed set, which would hand the claim back and
 * queue the job again behind everything else due.
 */
const INLINE_WAIT_MS = 300;
const LEAD_MS = DELIVERY_LEAD_MS;
/** A reserved slot older than this was lost (worker down): reserve a fresh one. */
const STALE_SLOT_MS = 60_000;

type DeliverData = { notificationId: string; slotAt?: number | undefined; channel?: string | undefined; globalAt?: number | undefined };

async function delayTo(job: Job, token: string | undefined, data: DeliverData, at: number): Promise<never> {
  await job.updateData(data);
  await job.moveToDelayed(Math.ceil(at), token);
  throw new DelayedError();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isUser = (channel: string) => /^[UW][A-Z0-9]+$/.test(channel);

/** Per-process state of the delivery job: group-committed statements and known DM channels. */
interface DeliveryState {
  claim: Batched<string, ClaimedForSending>;
  sent: Batched<{ channel: string; ts: string }, true>;
  dms: Map<string, string>;
}
const states = new WeakMap<AppContext, DeliveryState>();
function stateFor(ctx: AppContext): DeliveryState {
  let s = states.get(ctx);
  if (!s) {
    s = {
      claim: createBatcher(async (items) => new Map((await claimForSending(ctx.db, items.map((i) => ({ id: i.key, postedChannel: i.item })))).map((r) => [r.id, r]))),
      sent: createBatcher(async (items) => {
        await markSentMany(ctx.db, items.map((i) => ({ id: i.key, ...i.item })));
        return new Map(items.map((i) => [i.key, true as const]));
      }),
      dms: new Map(),
    };
    states.set(ctx, s);
  }
  return s;
}

/**
 * Deliver one outbox row, exactly once:
 * 1. wait (in the delayed set) until just before the channel slot reserved
 *    at enqueue;
 * 2. claim the row for sending (a sent or failed row is done: jobs run at
 *    least once); a row an earlier attempt left 'sending' is first looked up
 *    in Slack by the metadata key stamped on every post, so it is never
 *    posted twice (a worker killed mid-post);
 * 3. pass the pacing gate: ≥ spacing since the channel's last post returned,
 *    and a global slot; otherwise wait again (an early or overtaken job),
 *    handing the row back when the wait is long;
 * 4. post, then record the ts. A 429 waits out Retry-After without using an
 *    attempt; a permanent Slack error fails the row for good with its reason.
 * Claims and sent-marks are group-committed across concurrent deliveries.
 */
export async function deliverNotification(ctx: AppContext, data: DeliverData, job: Job, token: string | undefined) {
  const state = stateFor(ctx);
  let target = data.channel;
  if (!target) {
    // Jobs enqueued without their channel (older producers): look it up.
    const row = await getNotification(ctx.db, data.notificationId);
    if (!row || row.status === 'sent' || row.status === 'failed') return { skipped: row?.status ?? 'missing' };
    target = row.channel_id;
  }

  const pacer = pacerFor(ctx);
  let slotAt = data.slotAt ?? Date.now();
  if (pacer) {
    const now = Date.now();
    if (data.slotAt === undefined || slotAt < now - STALE_SLOT_MS) [slotAt] = (await pacer.reserve([target], now)) as [number];
    // Wake a little before the slot: the claim is done by the time the slot comes.
    if (slotAt - now > LEAD_MS + INLINE_WAIT_MS) await delayTo(job, token, { ...data, channel: target, slotAt }, slotAt - LEAD_MS);
  }

  let row: ClaimedForSending | undefined;
  try {
    let channel = target;
    if (isUser(target)) {
      channel = state.dms.get(target) ?? (await ctx.slack.openDm(target));
      state.dms.set(target, channel);
    }
    row = await state.claim(data.notificationId, channel);
    if (!row) return { skipped: 'not pending' };
    if (row.prev_status === 'sending' && row.prev_posted_channel_id && row.prev_started_at) {
      const since = Math.floor(new Date(row.prev_started_at).getTime() / 1000) - 5;
      const ts = await ctx.slack.findPosted(row.prev_posted_channel_id, since, METADATA_TYPE, row.dedupe_key);
      if (ts) {
        await state.sent(row.id, { channel: row.prev_posted_channel_id, ts });
        metrics.notificationsSent.inc({ kind: row.kind });
        return { recovered: ts };
      }
    }
    if (pacer) {
      let holdsGlobal = data.globalAt !== undefined;
      if (slotAt > Date.now()) await sleep(slotAt - Date.now());
      for (;;) {
        const now = Date.now();
        const verdict = await pacer.gate(target, holdsGlobal, now);
        if (verdict.go) break;
        if (verdict.globalSlot) holdsGlobal = true;
        if (verdict.until - now > INLINE_WAIT_MS) {
          // Not soon: hand the row back (nothing was posted) and wait in the delayed set.
          await releaseClaim(ctx.db, row.id);
          await delayTo(job, token, { notificationId: data.notificationId, channel: target, slotAt: verdict.until, ...(holdsGlobal ? { globalAt: verdict.until } : {}) }, verdict.until - LEAD_MS);
        }
        await sleep(Math.max(1, verdict.until - now));
      }
    }
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
      await pacer?.posted(target);
    }
    await state.sent(row.id, { channel: posted.channel, ts: posted.ts });
    metrics.notificationsSent.inc({ kind: row.kind });
    metrics.deliveryWait.observe({ kind: row.kind }, (Date.now() - new Date(row.created_at).getTime()) / 1000);
    return { ts: posted.ts };
  } catch (error) {
    if (error instanceof DelayedError) throw error;
    const verdict = classifySlackError(error);
    const kind = row?.kind ?? 'unknown';
    if (verdict.kind === 'rate_limited') {
      metrics.slack429.inc({ method: 'chat.postMessage' });
      const until = Date.now() + verdict.retryAfterMs;
      await pacer?.block(target, until);
      // A 429 means Slack did not take the message: back to pending, and the
      // try is not counted — neither on the row nor by BullMQ (moveToDelayed).
      await markNotPosted(ctx.db, data.notificationId, 'rate limited by Slack');
      return delayTo(job, token, { notificationId: data.notificationId, channel: target, slotAt: until }, until);
    }
    if (verdict.kind === 'permanent') {
      await markFailed(ctx.db, data.notificationId, verdict.reason);
      metrics.notificationsFailed.inc({ kind, reason: verdict.reason });
      ctx.logger.warn({ notification: data.notificationId, kind, reason: verdict.reason }, 'notification failed for good');
      return { failed: verdict.reason };
    }
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) {
      await markFailed(ctx.db, data.notificationId, `gave up after ${attempts} attempts: ${verdict.reason}`);
      metrics.notificationsFailed.inc({ kind, reason: 'retries_exhausted' });
    } else {
      // Stays 'sending' when the post may have reached Slack (timeout, 5xx):
      // the retry looks it up before posting again.
      await noteError(ctx.db, data.notificationId, verdict.reason);
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
