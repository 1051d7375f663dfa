import type { AppConfig } from '../config/index.js';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import type { RunInfo, ScoredCustomer } from '../scores/hooks.js';
import { sparkline } from '../scoring/sparkline.js';
import { insertAlerts, loadEvaluationRows, loadWarningContext, resolveAlerts, type WarningContextRow } from './alert.repository.js';
import { closedWarningEdits } from './alert.service.js';
import { alertDestination, notificationKeys } from './destination.rules.js';
import { daysFrom, localDate } from './localtime.js';
import { claimNotifications, type NewNotification } from './outbox.repository.js';
import { scheduleDelivery } from './outbox.service.js';
import { warningMessage } from './warning.blocks.js';
import { decideWarnings, describeTriggers, suggestNextStep, type WarningDecision, type WarningInput, type WarningThresholds } from './warning.rules.js';

export function warningThresholds(config: AppConfig): WarningThresholds {
  const a = config.settings.alerts;
  return {
    redBelow: config.settings.scoring.bands.red,
    dropPoints: a.dropPoints,
    dropWindowDays: a.dropWindowDays,
    pAliveBelow: a.pAliveBelow,
    recoverMargin: a.recoverMargin,
  };
}

export interface EvaluationResult {
  raised: number;
  resolved: number;
  notified: number;
}

/**
 * The scores-written hook: decide, for one committed batch, which customers
 * get a new churn warning and whose warning is over. Set-based: one query for
 * the batch's warnings in force and score windows, one for the message context
 * of the customers being warned, one transaction that resolves, inserts and
 * claims the messages together — so a re-run batch (jobs run at least once)
 * finds the warning in force and sends nothing twice, and a crash between
 * insert and claim cannot leave a warning nobody was told about.
 */
export async function evaluateChurnWarnings(ctx: AppContext, _run: RunInfo | null, scored: ScoredCustomer[]): Promise<EvaluationResult> {
  if (scored.length === 0) return { raised: 0, resolved: 0, notified: 0 };
  const t = warningThresholds(ctx.config);
  const now = ctx.clock.now();
  const rows = await loadEvaluationRows(
    ctx.db,
    scored.map((s) => ({ customerId: s.customerId, scoredAt: s.scoredAt })),
    t.dropWindowDays,
  );
  const byId = new Map(rows.map((r) => [r.customer_id, r]));
  const inputs: WarningInput[] = [];
  const scoredById = new Map<string, ScoredCustomer>();
  for (const s of scored) {
    const row = byId.get(s.customerId);
    if (!row) continue;
    scoredById.set(s.customerId, s);
    inputs.push({
      customerId: s.customerId,
      active: row.status === 'active',
      health: s.health,
      band: s.band,
      pAlive: s.pAlive,
      windowMaxHealth: row.window_max_health,
      current: row.alert_id ? { id: row.alert_id, status: row.alert_status!, snoozedUntil: row.snoozed_until ? new Date(row.snoozed_until) : null } : null,
    });
  }
  const decisions = decideWarnings(inputs, t, now);
  const raises = decisions.filter((d): d is Extract<WarningDecision, { kind: 'raise' }> => d.kind === 'raise');
  const resolves = decisions.filter((d): d is Extract<WarningDecision, { kind: 'resolve' }> => d.kind === 'resolve');
  if (raises.length === 0 && resolves.length === 0) return { raised: 0, resolved: 0, notified: 0 };

  const contexts = new Map(
    (
      await loadWarningContext(
        ctx.db,
        raises.map((r) => r.customerId),
      )
    ).map((c) => [c.customer_id, c]),
  );
  const { claimed, notified, inserted, resolved } = await ctx.db.transaction().execute(async (trx) => {
    const ending = [
      ...resolves.map((r) => ({ alertId: r.alertId, reason: r.reason })),
      ...raises.filter((r) => r.replaces).map((r) => ({ alertId: r.replaces!, reason: 'snooze_expired' })),
    ];
    const resolved = await resolveAlerts(trx, ending, now);
    const inserted = await insertAlerts(
      trx,
      raises.map((r) => {
        const s = scoredById.get(r.customerId)!;
        return {
          customerId: r.customerId,
          rule: r.rule,
          triggers: r.triggers,
          health: s.health,
          band: s.band,
          pAlive: s.pAlive,
          drivers: s.drivers,
          raisedAt: now,
        };
      }),
    );
    const decisionById = new Map(raises.map((r) => [r.customerId, r]));
    const messages: NewNotification[] = [];
    for (const a of inserted) {
      const c = contexts.get(a.customer_id);
      const d = decisionById.get(a.customer_id)!;
      const s = scoredById.get(a.customer_id)!;
      if (!c) continue;
      const channel = alertDestination({
        ownerSlackId: c.owner_slack_id,
        ownerAlertChannelId: c.owner_alert_channel_id,
        ownerActive: c.owner_active,
        teamChannelId: c.team_channel_id,
      });
      if (!channel) {
        ctx.logger.warn({ customer: a.customer_id, alert: a.id }, 'churn warning has nowhere to go: no owner and no team channel');
        continue;
      }
      const message = buildWarning(ctx, a.id, d, s, c, t, now);
      messages.push({
        dedupeKey: notificationKeys.warning(a.customer_id, a.episode),
        kind: 'churn_warning',
        channel,
        ...message,
        customerId: a.customer_id,
        teamId: c.team_id,
      });
    }
    // The ended warnings' messages are edited to say so (and lose their buttons).
    const edits = resolved
      ? await closedWarningEdits(
          trx,
          ending.map((e) => e.alertId),
        )
      : [];
    const claimed = await claimNotifications(trx, [...messages, ...edits]);
    const warningKeys = new Set(messages.map((m) => m.dedupeKey));
    const notified = claimed.filter((c) => warningKeys.has(c.dedupe_key)).length;
    return { claimed, notified, inserted: inserted.length, resolved };
  });
  await scheduleDelivery(ctx, claimed);
  for (const r of raises) metrics.alertsRaised.inc({ rule: r.rule });
  for (const r of resolves) metrics.alertsResolved.inc({ reason: r.reason });
  if (inserted || resolved) ctx.logger.info({ raised: inserted, resolved, notified }, 'churn warnings evaluated');
  return { raised: inserted, resolved, notified };
}

function buildWarning(
  ctx: AppContext,
  alertId: string,
  d: Extract<WarningDecision, { kind: 'raise' }>,
  s: ScoredCustomer,
  c: WarningContextRow,
  t: WarningThresholds,
  now: Date,
) {
  const today = localDate(now, 'UTC');
  const daysToRenewal = c.renewal_date ? daysFrom(today, c.renewal_date) : null;
  const trend = c.trend && c.trend.length > 1 ? sparkline(c.trend, { scale: 'health' }) : '';
  return warningMessage(
    {
      alertId,
      customerName: c.name,
      health: s.health,
      band: s.band,
      rule: d.rule,
      reasons: describeTriggers(d.triggers, { health: s.health, drop: d.drop, pAlive: s.pAlive }, t),
      drivers: s.drivers,
      arr: c.arr === null ? null : Number(c.arr),
      currency: c.currency,
      renewalDate: c.renewal_date,
      tier: s.tier ?? c.tier,
      ownerSlackId: c.owner_slack_id,
      trend,
      nextStep: suggestNextStep(s.drivers, daysToRenewal),
      snoozeDays: ctx.config.settings.alerts.snoozeDays,
      weights: c.measures ?? [],
      newestDataAt: c.newest_data_at ? new Date(c.newest_data_at) : null,
    },
    now,
  );
}
