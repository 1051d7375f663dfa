import { DelayedError, type Job } from 'bullmq';
import type { HandlerMap } from '../jobs/worker.js';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { createBatcher, type Batched } from './batcher.js';
import { claimForSending, listStranded, markFailed, markNotPosted, markSentMany, noteError, releaseClaim, type ClaimedForSending } from './outbox.repository.js';
import { pacerFor, requeueStranded } from './outbox.service.js';
import { classifySlackError } from './slack-errors.js';

export const METADATA_TYPE = 'retain_notification';
/**
 * A wait up to this long happens in the job (the usual one: the channel's
 * next second). A longer one — another job draining the same channel, a
 * long Retry-After, a far global slot — hands the rest of the job back to the
 * delayed set, freeing its delivery slot.
 */
const INLINE_WAIT_MS = 2_500;
/** Tries of one message against transient errors (5xx, timeouts) before it is failed. */
const MAX_TRIES = 5;
/** Backoff between those tries: 2 s, 4 s, 8 s… */
const backoffMs = (tries: number) => Math.min(60_000, 2_000 * 2 ** Math.max(0, tries - 1));

/** One channel's rows, in order. */
type ChannelRows = { channel: string; ids: string[] };
type DeliverData = { deliveries: ChannelRows[] };
type Tally = { sent: number; skipped: number; failed: number };
/** What a channel's drain left for later (a long wait, a backoff, shutdown), and when to take it up. */
type Drained = Tally & { left?: { ids: string[]; at: number } };

/** Put the job back in the delayed set with what is left of it; never returns. */
async function handBack(job: Job, token: string | undefined, data: DeliverData, at: number): Promise<never> {
  await job.updateData(data);
  await job.moveToDelayed(Math.ceil(at), token);
  throw new DelayedError();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isUser = (channel: string) => /^[UW][A-Z0-9]+$/.test(channel);

/** Per-process state of the delivery job: group-committed statements and known DM channels. */
interface DeliveryState {
  claim: Batched<{ postedChannel: string; job: string }, ClaimedForSending>;
  sent: Batched<{ channel: string; ts: string }, true>;
  dms: Map<string, string>;
}
const states = new WeakMap<AppContext, DeliveryState>();
function stateFor(ctx: AppContext): DeliveryState {
  let s = states.get(ctx);
  if (!s) {
    s = {
      claim: createBatcher(async (items) => new Map((await claimForSending(ctx.db, items.map((i) => ({ id: i.key, ...i.item })))).map((r) => [r.id, r])), 1_000),
      sent: createBatcher(async (items) => {
        await markSentMany(ctx.db, items.map((i) => ({ id: i.key, ...i.item })));
        return new Map(items.map((i) => [i.key, true as const]));
      }, 1_000),
      dms: new Map(),
    };
    states.set(ctx, s);
  }
  return s;
}

/**
 * Drain one channel's messages (rows the job owns), in order, exactly once
 * each:
 * 1. claim the row (only its own job may; a sent or failed row is skipped:
 *    jobs run at least once). A row an earlier run left 'sending' is first
 *    looked up in Slack by the metadata key stamped on every post, so it is
 *    never posted twice (a worker killed mid-post);
 * 2. pass the pacing gate — ≥ spacing since the channel's last post returned,
 *    and a global slot — waiting in the job for the usual second, or handing
 *    the rest back to the delayed set for a long wait;
 * 3. post (or, for a row that edits an earlier message, chat.update it), then
 *    record the ts. A 429 waits out Retry-After and costs no try;
 *    a permanent Slack error fails the row for good with its reason; a
 *    transient one is retried with backoff, up to MAX_TRIES per row.
 * Claims and sent-marks are group-committed across concurrent deliveries.
 * When the worker starts closing, the rest is left for later.
 */
async function drainChannel(ctx: AppContext, jobId: string, data: ChannelRows, stopping?: AbortSignal): Promise<Drained> {
  const state = stateFor(ctx);
  const pacer = pacerFor(ctx);
  const target = data.channel;
  const done: Drained = { sent: 0, skipped: 0, failed: 0 };
  /** When this drain's previous post to the channel returned: folded into the next gate. */
  let answeredAt = 0;

  const leaveFrom = async (i: number, at: number): Promise<Drained> => {
    if (answeredAt) await pacer?.posted(target, jobId, answeredAt);
    return { ...done, left: { ids: data.ids.slice(i), at } };
  };

  let channel: string | undefined = isUser(target) ? state.dms.get(target) : target;
  for (let i = 0; i < data.ids.length; i++) {
    if (stopping?.aborted) return leaveFrom(i, Date.now());
    const id = data.ids[i]!;
    let row: ClaimedForSending | undefined;
    try {
      if (!channel) {
        channel = await ctx.slack.openDm(target);
        state.dms.set(target, channel);
      }
      row = await state.claim(id, { postedChannel: channel, job: jobId });
      if (!row) {
        done.skipped++;
        continue;
      }
      // An edit is idempotent: a second try changes nothing, so no lookup first.
      if (!row.payload.update_ts && row.prev_status === 'sending' && row.prev_posted_channel_id && row.prev_started_at) {
        const since = Math.floor(new Date(row.prev_started_at).getTime() / 1000) - 5;
        const ts = await ctx.slack.findPosted(row.prev_posted_channel_id, since, METADATA_TYPE, row.dedupe_key);
        if (ts) {
          await state.sent(row.id, { channel: row.prev_posted_channel_id, ts });
          metrics.notificationsSent.inc({ kind: row.kind });
          done.sent++;
          continue;
        }
      }
      if (pacer) {
        // Gate ahead, for the moment the channel frees up after this job's
        // previous post: the script judges "as of" that moment, so the round
        // trip is off the critical path and the post leaves right on time.
        let holdsGlobal = false;
        let at = Math.max(Date.now(), answeredAt ? answeredAt + pacer.spacingMs : 0);
        for (;;) {
          const verdict = await pacer.gate(target, { holder: jobId, holdsGlobal, at, previousAnswerAt: answeredAt });
          answeredAt = 0;
          if (verdict.go) break;
          if (verdict.globalSlot) holdsGlobal = true;
          const now = Date.now();
          if (verdict.until - now > INLINE_WAIT_MS) {
            // Not soon: give the row back (nothing was posted) and wait in the delayed set.
            await releaseClaim(ctx.db, row.id);
            return leaveFrom(i, verdict.until);
          }
          if (verdict.held) {
            // Another delivery holds the channel: that changes in real time, so wait before asking again.
            await sleep(Math.max(1, verdict.until - now));
            at = Date.now();
          } else at = Math.max(now, verdict.until);
        }
        if (at > Date.now()) await sleep(at - Date.now());
      }
      const payload = row.payload;
      let posted: { ts: string; channel: string };
      try {
        if (payload.update_ts) {
          await ctx.slack.updateMessage({ channel, ts: payload.update_ts, text: payload.text, ...(payload.blocks ? { blocks: payload.blocks } : {}) });
          posted = { ts: payload.update_ts, channel };
        } else {
          posted = await ctx.slack.postMessage({
            channel,
            text: payload.text,
            ...(payload.blocks ? { blocks: payload.blocks } : {}),
            ...(payload.thread_ts ? { thread_ts: payload.thread_ts } : {}),
            metadata: { event_type: METADATA_TYPE, event_payload: { key: row.dedupe_key } },
          });
        }
      } finally {
        answeredAt = Date.now();
      }
      await state.sent(row.id, { channel: posted.channel, ts: posted.ts });
      metrics.notificationsSent.inc({ kind: row.kind });
      metrics.deliveryWait.observe({ kind: row.kind }, (Date.now() - new Date(row.created_at).getTime()) / 1000);
      done.sent++;
    } catch (error) {
      const verdict = classifySlackError(error);
      const kind = row?.kind ?? 'unknown';
      if (verdict.kind === 'rate_limited') {
        metrics.slack429.inc({ method: row?.payload.update_ts ? 'chat.update' : 'chat.postMessage' });
        const until = Date.now() + verdict.retryAfterMs;
        await pacer?.block(target, jobId, until);
        answeredAt = 0;
        // A 429 means Slack did not take the message: back to pending, and the
        // try is not counted — neither on the row nor by BullMQ (no throw).
        if (row) await markNotPosted(ctx.db, row.id, 'rate limited by Slack');
        if (verdict.retryAfterMs > INLINE_WAIT_MS) return leaveFrom(i, until);
        await sleep(verdict.retryAfterMs);
        i--; // the same row again
        continue;
      }
      if (verdict.kind === 'permanent') {
        await markFailed(ctx.db, id, verdict.reason);
        metrics.notificationsFailed.inc({ kind, reason: verdict.reason });
        ctx.logger.warn({ notification: id, kind, reason: verdict.reason }, 'notification failed for good');
        done.failed++;
        continue;
      }
      // Before a claim (opening the DM): nothing to account on a row; BullMQ retries the job.
      if (!row) throw error;
      const tries = row.attempts;
      if (tries >= MAX_TRIES) {
        await markFailed(ctx.db, id, `gave up after ${tries} attempts: ${verdict.reason}`);
        metrics.notificationsFailed.inc({ kind, reason: 'retries_exhausted' });
        done.failed++;
        continue;
      }
      // Stays 'sending' when the post may have reached Slack (timeout, 5xx):
      // the retry looks it up before posting again.
      await noteError(ctx.db, id, verdict.reason);
      ctx.logger.warn({ notification: id, kind, tries, err: verdict.reason }, 'delivery failed; retrying with backoff');
      return leaveFrom(i, Date.now() + backoffMs(tries));
    }
  }
  if (answeredAt) await pacer?.posted(target, jobId, answeredAt);
  return done;
}

/**
 * A delivery job drains several channels side by side (each at its own pace),
 * so a burst to a thousand channels is a few dozen jobs, not a thousand
 * fetches from the queue before the last channel gets its first message.
 * What the drains leave for later goes back to the delayed set as one job,
 * due when the earliest of it is; a drain that threw is retried whole by
 * BullMQ (its sent rows are skipped by the claim), after every other drain of
 * the job has stopped — never two drains of one row at once.
 */
export async function deliverBatch(ctx: AppContext, data: DeliverData, job: Job, token: string | undefined, stopping?: AbortSignal): Promise<Tally> {
  const jobId = job.id ?? '';
  const outcomes = await Promise.allSettled(data.deliveries.map((d) => drainChannel(ctx, jobId, d, stopping)));
  const total: Tally = { sent: 0, skipped: 0, failed: 0 };
  const left: ChannelRows[] = [];
  let at = Infinity;
  let error: unknown;
  outcomes.forEach((o, k) => {
    if (o.status === 'rejected') {
      error ??= o.reason;
      left.push(data.deliveries[k]!);
      return;
    }
    total.sent += o.value.sent;
    total.skipped += o.value.skipped;
    total.failed += o.value.failed;
    if (o.value.left) {
      left.push({ channel: data.deliveries[k]!.channel, ids: o.value.left.ids });
      at = Math.min(at, o.value.left.at);
    }
  });
  if (error !== undefined) {
    await job.updateData({ deliveries: left });
    throw error;
  }
  if (left.length) await handBack(job, token, { deliveries: left }, at);
  return total;
}

export const deliveryHandlers: HandlerMap = {
  deliver: (ctx, data, job, token, stopping) => deliverBatch(ctx, data, job, token, stopping),
  sweepOutbox: async (ctx) => {
    const rows = await listStranded(ctx.db, 60);
    const requeued = await requeueStranded(ctx, rows);
    return { stranded: rows.length, requeued };
  },
};
