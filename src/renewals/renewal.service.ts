import { CHURN_REASONS, type ChurnReason } from '../alerts/alert.table.js';
import { resolveCustomerAlerts } from '../alerts/alert.repository.js';
import { actorFor } from '../alerts/alert.service.js';
import { alertDestination, notificationKeys } from '../alerts/destination.rules.js';
import { addYear } from '../alerts/localtime.js';
import { getNotificationByKey, type NewNotification } from '../alerts/outbox.repository.js';
import { enqueueNotifications } from '../alerts/outbox.service.js';
import { canDecideRenewal } from '../alerts/permissions.rules.js';
import { followUpDataChange } from '../jobs/follow-ups.js';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { sparkline } from '../scoring/sparkline.js';
import type { Block } from '../slack/blocks.js';
import { mention } from '../slack/escape.js';
import { reminderMessage, refusalText, withRenewalStatus, type RenewalStatus } from './renewal.blocks.js';
import {
  findDecisionSubject,
  findRenewal,
  lockCustomer,
  markCustomerChurned,
  recordOutcome,
  reminderCandidates,
  rollRenewalForward,
  snoozeRenewal,
} from './renewal.repository.js';
import { dueReminderDay } from './renewal.rules.js';

const PAGE = 1000;

/**
 * The renewal scan (hourly, at a worker's start, and shortly after customer
 * records change; idempotent): for every active, undecided,
 * unsnoozed customer whose renewal is within the reminder window, the reminder
 * due today — claimed under customer + renewal date + reminder day, so each
 * reminder goes out once however often the scan runs.
 */
export async function scanRenewals(ctx: AppContext): Promise<{ due: number; sent: number }> {
  const s = ctx.config.settings;
  const reminderDays = s.renewals.reminderDays;
  const maxDays = Math.max(...reminderDays);
  const now = ctx.clock.now();
  let afterId = '0';
  let due = 0;
  let sent = 0;
  for (;;) {
    const page = await reminderCandidates(ctx.db, { now, defaultTz: s.schedules.timezone, maxDays, reminderDays, afterId, limit: PAGE });
    if (page.length === 0) break;
    afterId = page[page.length - 1]!.customer_id;
    const batch: NewNotification[] = [];
    for (const c of page) {
      const day = dueReminderDay(c.days_left, reminderDays);
      if (day === null) continue;
      const channel = alertDestination({
        ownerSlackId: c.owner_slack_id,
        ownerAlertChannelId: c.owner_alert_channel_id,
        ownerActive: c.owner_active,
        teamChannelId: c.team_channel_id,
      });
      if (!channel) continue;
      due++;
      const message = reminderMessage({
        customerId: c.customer_id,
        customerName: c.name,
        renewalDate: c.renewal_date,
        daysLeft: c.days_left,
        reminderDay: day,
        arr: c.arr === null ? null : Number(c.arr),
        currency: c.currency,
        tier: c.tier,
        ownerSlackId: c.owner_slack_id,
        health: c.health,
        band: c.band,
        drivers: c.drivers ?? [],
        trend: c.trend && c.trend.length > 1 ? sparkline(c.trend, { scale: 'health' }) : '',
        snoozeDays: s.alerts.snoozeDays,
      });
      batch.push({
        dedupeKey: notificationKeys.renewalReminder(c.customer_id, c.renewal_date, day),
        kind: 'renewal_reminder',
        channel,
        ...message,
        customerId: c.customer_id,
        teamId: c.team_id,
      });
    }
    const created = await enqueueNotifications(ctx, batch);
    metrics.remindersQueued.inc({}, created);
    sent += created;
    if (page.length < PAGE) break;
  }
  if (sent) ctx.logger.info({ due, sent }, 'renewal reminders queued');
  return { due, sent };
}

export interface RenewalRef {
  customerId: string;
  renewalDate: string;
  reminderDay: number;
}

export type DecisionOutcome =
  | { kind: 'done'; status: RenewalStatus; customerName: string }
  | { kind: 'refused'; message: string }
  | { kind: 'gone'; message: string };

/** Before opening the churn modal: may this person decide? (Checked again on submit.) */
export async function checkMayDecide(
  ctx: AppContext,
  customerId: string,
  userId: string,
): Promise<{ ok: true; customerName: string } | { ok: false; message: string }> {
  const [subject, actor] = await Promise.all([findDecisionSubject(ctx.db, customerId), actorFor(ctx, userId)]);
  if (!subject) return { ok: false, message: 'That customer no longer exists.' };
  if (!canDecideRenewal(actor, { ownerMemberId: subject.owner_member_id, teamId: subject.team_id }))
    return { ok: false, message: refusalText(subject.name, subject.owner_slack_id) };
  return { ok: true, customerName: subject.name };
}

/**
 * Renewed or Churned, decided once: the customer row is locked, the outcome
 * stored with an ARR/owner/team/tier snapshot; Renewed rolls the renewal date
 * forward a year, Churned marks the customer churned and closes its warnings.
 */
export async function decideRenewal(
  ctx: AppContext,
  req: { ref: RenewalRef; outcome: 'renewed' | 'churned'; userId: string; reason?: ChurnReason; note?: string },
): Promise<DecisionOutcome> {
  const now = ctx.clock.now();
  const actor = await actorFor(ctx, req.userId);
  const reason = req.outcome === 'churned' ? (req.reason && CHURN_REASONS.includes(req.reason) ? req.reason : 'other') : null;
  const note = req.note?.trim() ? req.note.trim().slice(0, 2000) : null;
  const result = await ctx.db.transaction().execute(async (trx): Promise<DecisionOutcome> => {
    const c = await lockCustomer(trx, req.ref.customerId);
    if (!c) return { kind: 'gone', message: 'That customer no longer exists.' };
    if (!canDecideRenewal(actor, { ownerMemberId: c.owner_member_id, teamId: c.team_id }))
      return { kind: 'refused', message: refusalText(c.name, c.owner_slack_id) };
    const existing = await findRenewal(trx, c.id, req.ref.renewalDate);
    if (existing?.outcome) {
      return {
        kind: 'gone',
        message: `The ${req.ref.renewalDate} renewal of *${c.name}* was already marked *${existing.outcome}*${existing.decided_by_slack_id ? ` by ${mention(existing.decided_by_slack_id)}` : ''}.`,
      };
    }
    if (c.status === 'churned') return { kind: 'gone', message: `*${c.name}* is already marked churned.` };
    if (c.renewal_date !== req.ref.renewalDate) {
      return {
        kind: 'gone',
        message: `This reminder was for the ${req.ref.renewalDate} renewal, but *${c.name}* now renews on ${c.renewal_date ?? 'an unknown date'}. Nothing was changed.`,
      };
    }
    const recorded = await recordOutcome(trx, {
      customerId: c.id,
      renewalDate: req.ref.renewalDate,
      outcome: req.outcome,
      churnReason: reason,
      churnNote: req.outcome === 'churned' ? note : null,
      arr: c.arr,
      ownerMemberId: c.owner_member_id,
      teamId: c.team_id,
      tier: c.tier,
      decidedAt: now,
      decidedBy: req.userId,
    });
    if (!recorded) return { kind: 'gone', message: `The renewal of *${c.name}* was already decided.` };
    if (req.outcome === 'renewed') {
      const nextDate = addYear(req.ref.renewalDate);
      await rollRenewalForward(trx, c.id, nextDate, now);
      return { kind: 'done', status: { kind: 'renewed', by: req.userId, nextDate }, customerName: c.name };
    }
    // The contract ended at the renewal it was not renewed on — not at the click, which may
    // come days later (a late click would otherwise move the churn into the next contract
    // year for the renewal model) or before it (a customer that announced it will leave).
    await markCustomerChurned(trx, c.id, new Date(`${req.ref.renewalDate}T00:00:00Z`), now);
    await resolveCustomerAlerts(trx, c.id, 'churned', now);
    return { kind: 'done', status: { kind: 'churned', by: req.userId, reason: reason!, note }, customerName: c.name };
  });
  if (result.kind === 'done') {
    await ctx.reads.wrote({ customerIds: [req.ref.customerId], userIds: [req.userId] });
    await refreshReminder(ctx, req.ref, result.status);
    // Renewed rolls the date a year on: the next reminder is due from the new date.
    await followUpDataChange(ctx, { scores: false, renewals: true });
  }
  return result;
}

export async function snoozeReminders(ctx: AppContext, req: { ref: RenewalRef; userId: string }): Promise<DecisionOutcome> {
  const now = ctx.clock.now();
  const [subject, actor] = await Promise.all([findDecisionSubject(ctx.db, req.ref.customerId), actorFor(ctx, req.userId)]);
  if (!subject) return { kind: 'gone', message: 'That customer no longer exists.' };
  if (!canDecideRenewal(actor, { ownerMemberId: subject.owner_member_id, teamId: subject.team_id }))
    return { kind: 'refused', message: refusalText(subject.name, subject.owner_slack_id) };
  const until = new Date(now.getTime() + ctx.config.settings.alerts.snoozeDays * 86_400_000);
  await snoozeRenewal(ctx.db, subject.id, req.ref.renewalDate, until, now);
  await ctx.reads.wrote({ customerIds: [subject.id], userIds: [req.userId] });
  const status: RenewalStatus = { kind: 'snoozed', by: req.userId, until };
  await refreshReminder(ctx, req.ref, status);
  return { kind: 'done', status, customerName: subject.name };
}

/** The reminder as the outbox posted it, edited in place; where it is comes from that record, never from the click. */
async function refreshReminder(ctx: AppContext, ref: RenewalRef, status: RenewalStatus): Promise<void> {
  const row = await getNotificationByKey(ctx.db, notificationKeys.renewalReminder(ref.customerId, ref.renewalDate, ref.reminderDay));
  const where = row?.posted_channel_id && row.message_ts ? { channel: row.posted_channel_id, ts: row.message_ts } : null;
  if (!row || !where) return;
  try {
    await ctx.slack.updateMessage({
      channel: where.channel,
      ts: where.ts,
      text: row.payload.text,
      blocks: withRenewalStatus((row.payload.blocks ?? []) as Block[], status),
    });
  } catch (error) {
    ctx.logger.warn({ customer: ref.customerId, err: (error as Error).message }, 'could not update the renewal reminder');
  }
}
