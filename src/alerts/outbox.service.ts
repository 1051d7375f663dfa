import { randomUUID } from 'node:crypto';
import type { AppContext } from '../platform/context.js';
import { assignDeliveryJobs, claimNotifications, getNotificationByKey, resetFailed, type NewNotification, type ScheduledRow } from './outbox.repository.js';
import { createPacer, type Pacer } from './pacing.js';

export type { NewNotification } from './outbox.repository.js';

/**
 * At most this many messages of one channel per delivery job: a channel is
 * drained at one post a second, so this bounds how long a job runs before
 * the channel's next messages get a job of their own.
 */
export const MAX_MESSAGES_PER_CHANNEL = 50;
/** At most this many channels drained side by side in one delivery job. */
export const MAX_CHANNELS_PER_JOB = 20;

/**
 * A fresh delivery job id (no ':' and not all digits: BullMQ reserves both). Ids
 * are not derived from the rows: which job owns a row is recorded on the row,
 * and a new job for a row always gets a new id, never one BullMQ still
 * retains (and would silently ignore).
 */
export const newDeliveryJobId = () => `deliver-${randomUUID()}`;

export interface DeliveryGroup {
  jobId: string;
  deliveries: { channel: string; ids: string[] }[];
}

/**
 * Rows → delivery jobs. Each channel's rows stay in claim order and are
 * drained by one job at one post a second (split every
 * MAX_MESSAGES_PER_CHANNEL), instead of a job per message each waking for
 * its own slot; up to MAX_CHANNELS_PER_JOB channels share a job. Pure.
 */
export function groupForDelivery(
  rows: { id: string; channel_id: string }[],
  limits = { perChannel: MAX_MESSAGES_PER_CHANNEL, channelsPerJob: MAX_CHANNELS_PER_JOB },
): DeliveryGroup[] {
  const byChannel = new Map<string, string[]>();
  for (const r of [...rows].sort((a, b) => Number(a.id) - Number(b.id))) {
    const ids = byChannel.get(r.channel_id);
    if (ids) ids.push(r.id);
    else byChannel.set(r.channel_id, [r.id]);
  }
  const runs: { channel: string; ids: string[] }[] = [];
  for (const [channel, ids] of byChannel) {
    for (let i = 0; i < ids.length; i += limits.perChannel) runs.push({ channel, ids: ids.slice(i, i + limits.perChannel) });
  }
  const groups: DeliveryGroup[] = [];
  let current: DeliveryGroup | undefined;
  for (const run of runs) {
    // A channel's second run goes to another job: one drain per channel per job.
    if (!current || current.deliveries.length >= limits.channelsPerJob || current.deliveries.some((d) => d.channel === run.channel)) {
      current = { jobId: newDeliveryJobId(), deliveries: [] };
      groups.push(current);
    }
    current.deliveries.push(run);
  }
  return groups;
}

const pacers = new WeakMap<AppContext, Pacer>();
/** The Redis pacer shared by every delivery, in every worker process. */
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
  const [row] = await claimAndSchedule(ctx, [n]);
  if (row) return { id: row.id, created: true };
  const existing = await getNotificationByKey(ctx.db, n.dedupeKey);
  return { id: existing!.id, created: false };
}

/** Claim many keys and schedule the new rows; returns how many were new. */
export async function enqueueNotifications(ctx: AppContext, list: NewNotification[]): Promise<number> {
  return (await claimAndSchedule(ctx, list)).length;
}

/**
 * Plan the delivery jobs on the whole list first, so each channel's share of
 * a burst is one drain and every row is inserted already owned by its job.
 * Then claim job by job, a statement per ~five thousand rows, enqueueing each
 * statement's jobs (with the rows that were new) as soon as it is done: the
 * first channels are being posted to while the rest are still being claimed.
 */
async function claimAndSchedule(ctx: AppContext, list: NewNotification[]): Promise<{ id: string; channel_id: string }[]> {
  if (list.length === 0) return [];
  if (!ctx.queues) return claimNotifications(ctx.db, list);
  const groups = groupForDelivery(list.map((n, i) => ({ id: String(i), channel_id: n.channel })));
  const created: { id: string; channel_id: string }[] = [];
  for (let g = 0; g < groups.length; ) {
    const chunk: DeliveryGroup[] = [];
    const rows: NewNotification[] = [];
    while (g < groups.length && (rows.length === 0 || rows.length < 5000)) {
      const group = groups[g++]!;
      chunk.push(group);
      for (const d of group.deliveries) for (const i of d.ids) rows.push({ ...list[Number(i)]!, deliveryJob: group.jobId });
    }
    const claimed = await claimNotifications(ctx.db, rows);
    created.push(...claimed);
    // Input positions → the ids the rows got; keys claimed before have none.
    const idOf = new Map(claimed.map((r) => [r.dedupe_key, r.id]));
    await enqueueJobs(
      ctx,
      mapGroupIds(chunk, (i) => idOf.get(list[Number(i)]!.dedupeKey)),
      claimed.length,
    );
  }
  return created;
}

/**
 * Give rows claimed elsewhere (inside a transaction that has committed since)
 * their delivery jobs: record each row's job (only that job may claim it),
 * then enqueue the jobs. A failure leaves the rows for the outbox sweep.
 */
export async function scheduleDelivery(ctx: AppContext, rows: { id: string; channel_id: string }[]): Promise<void> {
  if (!ctx.queues || rows.length === 0) return;
  try {
    const groups = groupForDelivery(rows);
    const handed = await assignDeliveryJobs(
      ctx.db,
      groups.flatMap((g) => g.deliveries.flatMap((d) => d.ids.map((id) => ({ id, job: g.jobId })))),
    );
    await enqueueJobs(
      ctx,
      mapGroupIds(groups, (id) => (handed.has(id) ? id : undefined)),
      rows.length,
    );
  } catch (error) {
    ctx.logger.warn({ count: rows.length, err: (error as Error).message }, 'could not schedule delivery; the outbox sweep will retry');
  }
}

/** The groups with each row id mapped, or dropped where it maps to nothing; emptied drains and jobs go. */
function mapGroupIds(groups: DeliveryGroup[], map: (id: string) => string | undefined): DeliveryGroup[] {
  return groups
    .map((g) => ({
      jobId: g.jobId,
      deliveries: g.deliveries
        .map((d) => ({ channel: d.channel, ids: d.ids.map(map).filter((id): id is string => id !== undefined) }))
        .filter((d) => d.ids.length > 0),
    }))
    .filter((g) => g.deliveries.length > 0);
}

async function enqueueJobs(ctx: AppContext, groups: DeliveryGroup[], count: number): Promise<void> {
  if (!ctx.queues || groups.length === 0) return;
  try {
    await ctx.queues.addBulk(
      'deliver',
      groups.map((g) => ({ data: { deliveries: g.deliveries }, opts: { jobId: g.jobId } })),
    );
  } catch (error) {
    ctx.logger.warn({ count, err: (error as Error).message }, 'could not enqueue delivery; the outbox sweep will retry');
  }
}

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * Give rows whose job is gone (or finished without finishing them) a new
 * job. Rows whose job is still queued or running are left to it; a finished
 * or failed one is removed, so it cannot be retried into the rows' way.
 */
export async function requeueStranded(ctx: AppContext, rows: ScheduledRow[]): Promise<number> {
  if (!ctx.queues || rows.length === 0) return 0;
  const queue = ctx.queues.queue('delivery');
  const byJob = new Map<string | null, ScheduledRow[]>();
  for (const r of rows) byJob.set(r.delivery_job ?? null, [...(byJob.get(r.delivery_job ?? null) ?? []), r]);
  const lost: ScheduledRow[] = [];
  for (const [jobId, owned] of byJob) {
    if (jobId !== null) {
      const job = await queue.getJob(jobId);
      if (job) {
        if (LIVE_STATES.has(await job.getState())) continue;
        try {
          await job.remove();
        } catch (error) {
          ctx.logger.warn({ job: jobId, err: (error as Error).message }, 'could not remove a finished delivery job');
          continue;
        }
      }
    }
    lost.push(...owned);
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
