import { findMember } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import type { Block } from '../slack/blocks.js';
import type { AlertActivity } from './alert.table.js';
import type { DbOrTrx } from '../platform/db.js';
import { loadAlertsForAction, lockAlert, recordFollowUp, updateAlertAfterAction, type AlertForAction } from './alert.repository.js';
import { followUpDataChange } from '../jobs/follow-ups.js';
import { notificationKeys } from './destination.rules.js';
import { getNotificationByKey, sentMessagesByKey, type NewNotification } from './outbox.repository.js';
import { canActOnWarning, type Actor } from './permissions.rules.js';
import { withWarningStatus } from './warning.blocks.js';

export type WarningAction = 'acknowledge' | 'snooze' | 'useful' | 'false_alarm' | 'follow_up';

export interface ActionRequest {
  alertId: string;
  action: WarningAction;
  userId: string;
  followUp?: { kind: string; note: string };
}

export type ActionOutcome = { kind: 'done'; note: string } | { kind: 'refused'; message: string } | { kind: 'gone'; message: string };

export async function actorFor(ctx: AppContext, slackUserId: string): Promise<Actor | null> {
  const m = await findMember(ctx.db, slackUserId);
  return m ? { memberId: m.id, slackUserId: m.slack_user_id, role: m.role, teamId: m.team_id } : null;
}

/**
 * A click on a warning: check the clicker may act, change the warning's state
 * in a row-locked transaction, then re-render the message in place showing
 * who did what.
 */
export async function actOnWarning(ctx: AppContext, req: ActionRequest): Promise<ActionOutcome> {
  if (!/^\d+$/.test(req.alertId)) return { kind: 'gone', message: 'That warning no longer exists.' };
  const now = ctx.clock.now();
  const actor = await actorFor(ctx, req.userId);
  const result = await ctx.db.transaction().execute(async (trx): Promise<ActionOutcome & { alert?: AlertForAction }> => {
    const alert = await lockAlert(trx, req.alertId);
    if (!alert) return { kind: 'gone', message: 'That warning no longer exists.' };
    if (!canActOnWarning(actor, { ownerMemberId: alert.owner_member_id, teamId: alert.customer_team_id })) {
      return {
        kind: 'refused',
        message: actor
          ? `Only the owner of *${alert.customer_name}*, people in its team, or an admin can act on this warning.`
          : `You are not a retain member yet, so you can't act on warnings. Ask an admin to add you: \`retain member add ${req.userId} --team KEY --role rep\``,
      };
    }
    const by = req.userId;
    const entry = (what: AlertActivity['what'], detail?: string): AlertActivity => ({ at: now.toISOString(), by, what, ...(detail ? { detail } : {}) });
    const activity = [...alert.activity];
    const resolved = alert.status === 'resolved';
    switch (req.action) {
      case 'acknowledge': {
        if (resolved) return { kind: 'gone', message: `This warning about *${alert.customer_name}* is already resolved.` };
        if (alert.status === 'acknowledged') return { kind: 'done', note: 'Already acknowledged.', alert };
        activity.push(entry('acknowledged'));
        await updateAlertAfterAction(trx, alert.id, { status: 'acknowledged', acknowledged: { at: now, by }, activity });
        alert.activity = activity;
        return { kind: 'done', note: 'Acknowledged.', alert };
      }
      case 'snooze': {
        if (resolved) return { kind: 'gone', message: `This warning about *${alert.customer_name}* is already resolved.` };
        const until = new Date(now.getTime() + ctx.config.settings.alerts.snoozeDays * 86_400_000);
        activity.push(entry('snoozed', until.toISOString()));
        await updateAlertAfterAction(trx, alert.id, { status: 'snoozed', snoozedUntil: until, activity });
        alert.activity = activity;
        return { kind: 'done', note: `Snoozed for ${ctx.config.settings.alerts.snoozeDays} days.`, alert };
      }
      case 'useful':
      case 'false_alarm': {
        if (alert.verdict === req.action) return { kind: 'done', note: 'Already recorded.', alert };
        activity.push(entry(req.action));
        await updateAlertAfterAction(trx, alert.id, { verdict: { value: req.action, at: now, by }, activity });
        alert.activity = activity;
        return { kind: 'done', note: req.action === 'useful' ? 'Thanks — marked useful.' : 'Thanks — marked a false alarm.', alert };
      }
      case 'follow_up': {
        const f = req.followUp ?? { kind: 'note', note: '' };
        await recordFollowUp(trx, { customerId: alert.customer_id, authorSlackId: by, kind: f.kind, note: f.note, at: now });
        activity.push(entry('follow_up', f.kind));
        await updateAlertAfterAction(trx, alert.id, {
          ...(alert.status === 'open' ? { status: 'acknowledged' as const, acknowledged: { at: now, by } } : {}),
          activity,
        });
        alert.activity = activity;
        return { kind: 'done', note: `Logged your ${f.kind} with ${alert.customer_name}.`, alert };
      }
    }
  });
  if (result.kind === 'done' && result.alert) {
    await ctx.reads.wrote({ customerIds: [result.alert.customer_id], userIds: [req.userId] });
    await refreshWarningMessage(ctx, result.alert);
  }
  // A logged follow-up is a touch: the customer's cadence measure changes.
  if (result.kind === 'done' && req.action === 'follow_up') await followUpDataChange(ctx);
  const { alert: _drop, ...outcome } = result;
  return outcome;
}

/**
 * Re-render the warning with its current status line (chat.update of the
 * message the outbox posted). Where it is comes only from that record, never
 * from the click: a click's message container is whatever the request says.
 */
export async function refreshWarningMessage(ctx: AppContext, alert: AlertForAction): Promise<void> {
  const row = await getNotificationByKey(ctx.db, notificationKeys.warning(alert.customer_id, alert.episode));
  const where = row?.posted_channel_id && row.message_ts ? { channel: row.posted_channel_id, ts: row.message_ts } : null;
  if (!row || !where) return;
  const blocks = withWarningStatus(
    (row.payload.blocks ?? []) as Block[],
    alert.activity,
    alert.status === 'resolved' ? { reason: alert.resolved_reason } : null,
  );
  try {
    await ctx.slack.updateMessage({ channel: where.channel, ts: where.ts, text: row.payload.text, blocks });
  } catch (error) {
    ctx.logger.warn({ alert: alert.id, err: (error as Error).message }, 'could not update the warning message');
  }
}

/**
 * Edits for warnings that ended without a click (the customer recovered or
 * churned, a snooze ran out into a new warning): their posted messages lose
 * the buttons and say why — outbox rows like every other message, so the
 * edits are paced and survive a crash. Warnings whose message never went out
 * get none.
 */
export async function closedWarningEdits(db: DbOrTrx, alertIds: readonly string[]): Promise<NewNotification[]> {
  const alerts = (await loadAlertsForAction(db, alertIds)).filter((a) => a.status === 'resolved');
  const byKey = new Map(alerts.map((a) => [notificationKeys.warning(a.customer_id, a.episode), a]));
  const sent = await sentMessagesByKey(db, [...byKey.keys()]);
  return sent.map((m) => {
    const a = byKey.get(m.dedupe_key)!;
    return {
      dedupeKey: notificationKeys.warningClosed(a.id),
      kind: 'warning_closed',
      channel: m.posted_channel_id!,
      updateTs: m.message_ts!,
      text: m.payload.text,
      blocks: withWarningStatus((m.payload.blocks ?? []) as Block[], a.activity, { reason: a.resolved_reason }),
      customerId: a.customer_id,
      teamId: m.team_id,
    };
  });
}

export function refusalText(outcome: ActionOutcome): string {
  return outcome.kind === 'done' ? outcome.note : outcome.message;
}
