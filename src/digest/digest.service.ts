import { notificationKeys } from '../alerts/destination.rules.js';
import { localDate as localDateIn, localParts, quarterBounds, quarterOf } from '../alerts/localtime.js';
import { getNotificationByKey } from '../alerts/outbox.repository.js';
import { enqueueNotification } from '../alerts/outbox.service.js';
import { listTeams } from '../customers/roster.repository.js';
import type { JobsOptions } from 'bullmq';
import { JOBS } from '../jobs/catalog.js';
import type { ScheduleSpec } from '../jobs/schedules.js';
import type { AppContext } from '../platform/context.js';
import { digestMessage } from './digest.blocks.js';
import { getTeam, loadDigestInput } from './digest.repository.js';
import { buildDigest, DEFAULT_MIN_MOVE, digestDue, type DigestModel } from './digest.rules.js';

/** How long after a team's digest hour a missed digest is still sent (schedulers don't backfill). */
export const CATCH_UP_HOURS = 3;
const MOVERS_WINDOW_DAYS = 7;
const RENEWAL_WINDOW_DAYS = 14;

export async function composeDigest(
  ctx: AppContext,
  team: { id: number; name: string; tz: string },
  localDate: string,
  now: Date,
): Promise<{ model: DigestModel; text: string; blocks: unknown[] }> {
  const s = ctx.config.settings;
  const quarter = { key: quarterOf(localDate), ...quarterBounds(localDate) };
  const input = await loadDigestInput(ctx.readDb, {
    teamId: team.id,
    now,
    localDate,
    quarter,
    renewalWindowDays: RENEWAL_WINDOW_DAYS,
    moversWindowDays: MOVERS_WINDOW_DAYS,
    cap: s.digest.sectionCap,
  });
  const model = buildDigest(input, {
    cap: s.digest.sectionCap,
    renewalWindowDays: RENEWAL_WINDOW_DAYS,
    cadenceDaysA: s.scoring.cadenceDays.A,
    escalateAfterDays: s.disputes.escalateAfterDays,
    minMove: DEFAULT_MIN_MOVE,
    renewalForecast: { healthWeight: s.renewals.healthWeight, level: s.renewals.forecastLevel },
  });
  return { model, ...digestMessage(model, team) };
}

/**
 * One team's digest for one local day, at most once: the message is claimed
 * under team + local date in Postgres, so several workers, a restart, or the
 * catch-up running alongside the scheduler all end in a single post.
 */
export async function sendDigest(ctx: AppContext, teamId: number, date?: string): Promise<{ skipped?: string; notificationId?: string; quiet?: boolean }> {
  const team = await getTeam(ctx.db, teamId);
  if (!team) return { skipped: 'no such team' };
  if (!team.channel_id) {
    ctx.logger.warn({ team: team.key }, 'team has no channel; digest not sent (retain team add KEY --channel C…)');
    return { skipped: 'no team channel' };
  }
  const now = ctx.clock.now();
  const localDate = date ?? localDateIn(now, team.tz);
  const key = notificationKeys.digest(team.id, localDate);
  if (await getNotificationByKey(ctx.db, key)) return { skipped: 'already sent' };
  const digest = await composeDigest(ctx, team, localDate, now);
  const res = await enqueueNotification(ctx, {
    dedupeKey: key,
    kind: 'digest',
    channel: team.channel_id,
    text: digest.text,
    blocks: digest.blocks,
    teamId: team.id,
  });
  return res.created ? { notificationId: res.id, quiet: digest.model.quiet } : { skipped: 'already sent' };
}

// ---------------------------------------------------------------------------
// Schedules: one job scheduler per team, in the team's time zone.
// ---------------------------------------------------------------------------

export const DIGEST_SCHEDULER_PREFIX = 'digest-team-';
export const digestSchedulerId = (teamId: number) => `${DIGEST_SCHEDULER_PREFIX}${teamId}`;

export function teamDigestSpecs(teams: { id: number; tz: string; digest_hour: number }[]): ScheduleSpec<'digest'>[] {
  return teams.map((t) => ({ id: digestSchedulerId(t.id), job: 'digest', pattern: `0 ${t.digest_hour} * * *`, tz: t.tz, data: { teamId: t.id } }));
}

/**
 * Make the digest schedulers match the teams table: a changed tz or hour moves
 * the team's scheduler (upsert under the same id), a new team gets one, a
 * deleted team's goes. Unchanged schedulers are left alone.
 */
export async function syncDigestSchedules(ctx: AppContext): Promise<{ upserted: string[]; removed: string[] }> {
  if (!ctx.queues) return { upserted: [], removed: [] };
  const queue = ctx.queues.queue(JOBS.digest.queue);
  const specs = teamDigestSpecs(await listTeams(ctx.db));
  const existing = await queue.getJobSchedulers(0, -1, true);
  const byId = new Map(existing.map((s) => [s.key ?? (s as { id?: string }).id ?? '', s]));
  const upserted: string[] = [];
  for (const spec of specs) {
    const cur = byId.get(spec.id);
    if (cur && cur.pattern === spec.pattern && cur.tz === spec.tz) continue;
    await queue.upsertJobScheduler(spec.id, { pattern: spec.pattern, tz: spec.tz }, { name: 'digest', data: JOBS.digest.schema.parse(spec.data) });
    upserted.push(spec.id);
  }
  const keep = new Set(specs.map((s) => s.id));
  const removed: string[] = [];
  for (const id of byId.keys()) {
    if (id.startsWith(DIGEST_SCHEDULER_PREFIX) && !keep.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  if (upserted.length || removed.length) ctx.logger.info({ upserted, removed }, 'digest schedules synced');
  return { upserted, removed };
}

/**
 * Enqueue today's digest for teams: all of them, or (onlyDue) those within
 * CATCH_UP_HOURS after their digest hour whose digest has not gone out — the
 * run a scheduler missed while no worker was up.
 */
export async function fanOutDigests(ctx: AppContext, onlyDue: boolean): Promise<number> {
  if (!ctx.queues) return 0;
  const now = ctx.clock.now();
  const teams = (await listTeams(ctx.db)).filter((t) => t.channel_id);
  let queued = 0;
  for (const t of teams) {
    const { date, hour } = localParts(now, t.tz);
    if (onlyDue) {
      if (!digestDue(hour, t.digest_hour, CATCH_UP_HOURS)) continue;
      if (await getNotificationByKey(ctx.db, notificationKeys.digest(t.id, date))) continue;
    }
    const opts: JobsOptions = { jobId: `digest-${t.id}-${date}` };
    await ctx.queues.add('digest', { teamId: t.id, localDate: date }, opts);
    queued++;
  }
  return queued;
}

/** Each team's digest scheduler, for the worker to register at start-up. */
export async function digestScheduleSpecs(ctx: AppContext): Promise<ScheduleSpec[]> {
  return teamDigestSpecs(await listTeams(ctx.db));
}
