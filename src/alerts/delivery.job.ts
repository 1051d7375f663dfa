import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { HandlerMap } from '../jobs/worker.js';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { createBatcher, type Batched } from './batcher.js';
import {
  claimForSending,
  listStranded,
  markFailed,
  markNotPosted,
  markSentMany,
  noteError,
  releaseClaim,
  renewLease,
  type ClaimOutcome,
  type ClaimedForSending,
} from './outbox.repository.js';
import { pacerFor, requeueStranded } from './outbox.service.js';
import { classifySlackError, TOKEN_SLACK_ERRORS } from './slack-errors.js';

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
/**
 * How long a claim keeps a row this execution's own. A second execution of
 * the same job (its lock lost to a Redis restart) cannot take the row
 * meanwhile; a crashed execution's row is free again after it.
 */
export const LEASE_MS = 20_000;
/** What a Slack call may take (the client gives up at 10 s), with margin: the lease must outlast it. */
const SLACK_CALL_MS = 12_000;
/** While Slack is away (unreachable, the token refused), rows wait this long between looks. */
const SLACK_AWAY_RETRY_MS = 5_000;

/** One channel's rows, in order. */
type ChannelRows = { channel: string; ids: string[] };
type DeliverData = { deliveries: ChannelRows[] };
type Tally = { sent: number; skipped: number; failed: number };
/** What a channel's drain left for later (a long wait, a backoff, shutdown), and when to take it up. */
type Drained = Tally & { left?: { ids: string[]; at: number } };
/** One execution of a delivery job: the job, and this run of it (BullMQ may run a job twice at once after a lost lock). */
interface Execution {
  jobId: string;
  token: string;
}

/** Put the job back in the delayed set with what is left of it; never returns. */
async function handBack(job: Job, token: string | undefined, data: DeliverData, at: number): Promise<never> {
  await job.updateData(data);
  await job.moveToDelayed(Math.ceil(at), token);
  throw new DelayedError();
}

/** Sleep, cut short when the worker starts closing; true when it was. */
function sleep(ms: number, stopping?: AbortSignal): Promise<boolean> {
  if (stopping?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stopping?.removeEventListener('abort', done);
      resolve(stopping?.aborted ?? false);
    };
    const timer = setTimeout(done, Math.max(0, ms));
    stopping?.addEventListener('abort', done, { once: true });
  });
}
const isUser = (channel: string) => /^[UW][A-Z0-9]+$/.test(channel);

/** Per-process state of the delivery job: group-committed statements and known DM channels. */
interface DeliveryState {
  claim: Batched<{ id: string; postedChannel: string; job: string; token: string }, ClaimOutcome>;
  sent: Batched<{ channel: string; ts: string }, true>;
  dms: Map<string, string>;
}
const states = new WeakMap<AppContext, DeliveryState>();
function stateFor(ctx: AppContext): DeliveryState {
  let s = states.get(ctx);
  if (!s) {
    s = {
      // Keyed by row and execution: two executions asking for one row get an answer each.
      claim: createBatcher(
        async (items) =>
          new Map(
            (
              await claimForSending(
                ctx.db,
                items.map((i) => i.item),
                LEASE_MS,
              )
            ).map((r) => [`${r.outcome === 'claimed' ? r.row.id : r.id}/${r.token}`, r]),
          ),
        1_000,
      ),
      sent: createBatcher(async (items) => {
        await markSentMany(
          ctx.db,
          items.map((i) => ({ id: i.key, ...i.item })),
        );
        return new Map(items.map((i) => [i.key, true as const]));
      }, 1_000),
      dms: new Map(),
    };
    states.set(ctx, s);
  }
  return s;
}

/** A failure outside the Slack call itself (Redis for pacing, Postgres): no try is counted against the row. */
class NotSlackError extends Error {
  constructor(readonly original: unknown) {
    super((original as Error)?.message ?? String(original));
  }
}
async function outsideSlack<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new NotSlackError(error);
  }
}

/**
 * Drain one channel's messages (rows the job owns), in order, exactly once
 * each:
 * 1. claim the row for this execution, for LEASE_MS (only its own job may,
 *    and only while no other execution holds it; a sent or failed row is
 *    skipped: jobs run at least once). A row held by another execution
 *    leaves the rest of the channel for when its lease ends;
 * 2. pass the pacing gate — ≥ spacing since the channel's last post returned,
 *    no other execution's post to it in flight, and a global slot — waiting
 *    in the job for the usual second, or handing the rest back to the delayed
 *    set for a long wait;
 * 3. then, still holding the row: a row an earlier attempt left 'sending' is
 *    looked up in Slack by the metadata key stamped on every post, so it is
 *    never posted twice (a worker killed mid-post);
 * 4. post (or, for a row that edits an earlier message, chat.update it), then
 *    record the ts. A 429 waits out Retry-After and costs no try; a
 *    permanent Slack error fails the row for good with its reason; a
 *    transient one is retried with backoff, up to MAX_TRIES per row. Slack
 *    out of reach, a refused token, Redis or Postgres failing: the row goes
 *    back without a try counted, and waits.
 * Claims and sent-marks are group-committed across concurrent deliveries.
 * When the worker starts closing, the rest is left for later.
 */
async function drainChannel(ctx: AppContext, exec: Execution, data: ChannelRows, stopping?: AbortSignal): Promise<Drained> {
  const state = stateFor(ctx);
  const pacer = pacerFor(ctx);
  const health = ctx.slackHealth;
  const target = data.channel;
  const done: Drained = { sent: 0, skipped: 0, failed: 0 };
  /** When this drain's previous post to the channel returned: folded into the next gate. */
  let answeredAt = 0;

  const leaveFrom = async (i: number, at: number): Promise<Drained> => {
    if (answeredAt) await pacer?.posted(target, exec.token, answeredAt).catch(() => undefined);
    return { ...done, left: { ids: data.ids.slice(i), at } };
  };
  /** Slack is away: nothing goes until the next health check says otherwise. */
  const slackAwayUntil = () => Math.max(Date.now() + 1_000, health?.state().nextCheckAt ?? Date.now() + SLACK_AWAY_RETRY_MS);

  let channel: string | undefined = isUser(target) ? state.dms.get(target) : target;
  for (let i = 0; i < data.ids.length; i++) {
    if (stopping?.aborted) return leaveFrom(i, Date.now());
    if (health && !health.usable()) return leaveFrom(i, slackAwayUntil());
    const id = data.ids[i]!;
    let row: ClaimedForSending | undefined;
    /** An earlier attempt may have posted this row and nobody has looked in Slack yet. */
    let unsure = false;
    /** When the claim (or its renewal) was asked for: the lease runs at least until this + LEASE_MS. */
    let leasedAt = 0;
    const giveBack = async () => {
      if (row) await releaseClaim(ctx.db, row.id, exec.token, unsure);
      row = undefined;
    };
    /** Enough lease left for a Slack call? Else extend it; false when the row is no longer ours. */
    const keepLease = async (): Promise<boolean> => {
      if (Date.now() - leasedAt < LEASE_MS - SLACK_CALL_MS) return true;
      const asked = Date.now();
      if (!(await outsideSlack(() => renewLease(ctx.db, row!.id, exec.token, LEASE_MS)))) return false;
      leasedAt = asked;
      return true;
    };
    try {
      if (!channel) {
        channel = await ctx.slack.openDm(target);
        state.dms.set(target, channel);
      }
      const posted_channel = channel;
      leasedAt = Date.now();
      const claim = await outsideSlack(() => state.claim(`${id}/${exec.token}`, { id, postedChannel: posted_channel, job: exec.jobId, token: exec.token }));
      if (!claim) {
        done.skipped++;
        continue;
      }
      if (claim.outcome === 'held') {
        // Another execution of this job is sending it: the rest of the channel waits for its lease.
        return leaveFrom(i, Date.now() + Math.max(500, claim.heldForMs));
      }
      row = claim.row;
      // An edit is idempotent (a second try changes nothing): never in doubt.
      unsure = row.prev_status === 'sending' && !row.payload.update_ts;
      if (pacer) {
        // Gate ahead, for the moment the channel frees up after this job's
        // previous post: the script judges "as of" that moment, so the round
        // trip is off the critical path and the post leaves right on time.
        let holdsGlobal = false;
        let at = Math.max(Date.now(), answeredAt ? answeredAt + pacer.spacingMs : 0);
        for (;;) {
          const gateAt = at;
          const verdict = await outsideSlack(() => pacer.gate(target, { holder: exec.token, holdsGlobal, at: gateAt, previousAnswerAt: answeredAt }));
          answeredAt = 0;
          if (verdict.go) break;
          if (verdict.globalSlot) holdsGlobal = true;
          const now = Date.now();
          if (verdict.until - now > INLINE_WAIT_MS) {
            // Not soon: give the row back (nothing was posted) and wait in the delayed set —
            // and the global place it was given, which a later ask will take afresh.
            if (verdict.globalSlot) await outsideSlack(() => pacer.releaseGlobal(verdict.until));
            await giveBack();
            return leaveFrom(i, verdict.until);
          }
          if (verdict.held) {
            // Another delivery holds the channel: that changes in real time, so wait before asking again.
            if (await sleep(Math.max(1, verdict.until - now), stopping)) {
              await giveBack();
              return leaveFrom(i, Date.now());
            }
            at = Date.now();
          } else at = Math.max(now, verdict.until);
        }
        if (at > Date.now() && (await sleep(at - Date.now(), stopping))) {
          await giveBack();
          return leaveFrom(i, Date.now());
        }
      }
      // After the wait, under the lease: did an earlier attempt post it already?
      if (unsure && row.prev_posted_channel_id && row.prev_started_at) {
        if (!(await keepLease())) {
          // No longer ours; the channel slot taken at the gate is let go with the next gate (or on leaving).
          answeredAt = Date.now();
          row = undefined;
          done.skipped++;
          continue;
        }
        const since = Math.floor(new Date(row.prev_started_at).getTime() / 1000) - 5;
        const ts = await ctx.slack.findPosted(row.prev_posted_channel_id, since, METADATA_TYPE, row.dedupe_key);
        unsure = false;
        if (ts) {
          answeredAt = Date.now();
          await outsideSlack(() => state.sent(row!.id, { channel: row!.prev_posted_channel_id!, ts }));
          metrics.notificationsSent.inc({ kind: row.kind });
          done.sent++;
          continue;
        }
      }
      if (!(await keepLease())) {
        answeredAt = Date.now();
        row = undefined;
        done.skipped++;
        continue;
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
      const sentRow = row;
      await outsideSlack(() => state.sent(sentRow.id, { channel: posted.channel, ts: posted.ts }));
      metrics.notificationsSent.inc({ kind: row.kind });
      metrics.deliveryWait.observe({ kind: row.kind }, (Date.now() - new Date(row.created_at).getTime()) / 1000);
      done.sent++;
    } catch (error) {
      if (error instanceof NotSlackError) {
        // Redis (pacing) or Postgres failed, not Slack: the row goes back untried, the job is retried.
        await giveBack().catch(() => undefined);
        if (answeredAt) await pacer?.posted(target, exec.token, answeredAt).catch(() => undefined);
        throw error.original;
      }
      const verdict = classifySlackError(error);
      const kind = row?.kind ?? 'unknown';
      if (verdict.kind === 'rate_limited') {
        metrics.slack429.inc({ method: row?.payload.update_ts ? 'chat.update' : 'chat.postMessage' });
        const until = Date.now() + verdict.retryAfterMs;
        // A 429 means Slack did not take the message: back to pending, and the
        // try is not counted — neither on the row nor by BullMQ (no throw).
        if (row) await markNotPosted(ctx.db, row.id, exec.token, 'rate limited by Slack', unsure);
        await pacer?.block(target, exec.token, until);
        answeredAt = 0;
        if (verdict.retryAfterMs > INLINE_WAIT_MS) return leaveFrom(i, until);
        if (await sleep(verdict.retryAfterMs, stopping)) return leaveFrom(i, until);
        i--; // the same row again
        continue;
      }
      if (verdict.kind === 'unreachable' || (verdict.kind === 'permanent' && TOKEN_SLACK_ERRORS.has(verdict.reason) && health && !(await health.verify()))) {
        // Slack cannot be reached, or no longer takes the token: nothing was
        // posted and nothing is wrong with the message. It waits, untried.
        if (verdict.kind === 'unreachable') void health?.verify();
        if (row) await markNotPosted(ctx.db, row.id, exec.token, verdict.reason, unsure);
        ctx.logger.warn({ notification: id, kind, err: verdict.reason }, 'Slack is away; the message waits in the outbox');
        return leaveFrom(i, slackAwayUntil());
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
      await noteError(ctx.db, id, exec.token, verdict.reason);
      ctx.logger.warn({ notification: id, kind, tries, err: verdict.reason }, 'delivery failed; retrying with backoff');
      return leaveFrom(i, Date.now() + backoffMs(tries));
    }
  }
  if (answeredAt) await pacer?.posted(target, exec.token, answeredAt);
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
  const exec: Execution = { jobId: job.id ?? '', token: randomUUID() };
  const outcomes = await Promise.allSettled(data.deliveries.map((d) => drainChannel(ctx, exec, d, stopping)));
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

/** Redis lost its jobs: every undelivered row whose job is gone gets a new one at once (no waiting for the sweep's minute). */
export async function requeueUndelivered(ctx: AppContext): Promise<{ undelivered: number; requeued: number }> {
  const rows = await listStranded(ctx.db, 0, 100_000);
  return { undelivered: rows.length, requeued: await requeueStranded(ctx, rows) };
}
