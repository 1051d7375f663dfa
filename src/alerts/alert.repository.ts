import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { Band, StoredDriver } from '../scores/score.table.js';
import type { AlertActivity, AlertRule } from './alert.table.js';
import type { WarningStatus } from './warning.rules.js';

/** The only place with alert queries; `db | trx` first. */

export interface EvaluationRow {
  customer_id: string;
  status: 'active' | 'churned';
  window_max_health: number | null;
  alert_id: string | null;
  alert_status: WarningStatus | null;
  snoozed_until: Date | null;
}

/**
 * For a batch of freshly scored customers, in one query: their status, the
 * highest health in the drop window before each new score, and the warning
 * in force (if any).
 */
export async function loadEvaluationRows(db: DbOrTrx, batch: { customerId: string; scoredAt: Date }[], windowDays: number): Promise<EvaluationRow[]> {
  if (batch.length === 0) return [];
  const ids = batch.map((b) => b.customerId);
  const times = batch.map((b) => b.scoredAt.toISOString());
  const { rows } = await sql<EvaluationRow>`
    WITH b(customer_id, scored_at) AS (SELECT * FROM unnest(${ids}::bigint[], ${times}::timestamptz[]))
    SELECT b.customer_id::text AS customer_id, c.status, w.max_health AS window_max_health,
           a.id::text AS alert_id, a.status AS alert_status, a.snoozed_until
    FROM b
    JOIN customers c ON c.id = b.customer_id
    LEFT JOIN LATERAL (
      SELECT max(h.health)::int AS max_health FROM score_history h
      WHERE h.customer_id = b.customer_id
        AND h.scored_at >= b.scored_at - make_interval(days => ${windowDays})
        AND h.scored_at < b.scored_at
    ) w ON true
    LEFT JOIN alerts a ON a.customer_id = b.customer_id AND a.status <> 'resolved' AND a.rule <> 'complaint_tier_a'
  `.execute(db);
  return rows;
}

export interface WarningContextRow {
  customer_id: string;
  name: string;
  arr: string | null;
  currency: string | null;
  renewal_date: string | null;
  team_id: number | null;
  team_channel_id: string | null;
  owner_slack_id: string | null;
  owner_alert_channel_id: string | null;
  owner_active: boolean | null;
  tier: string | null;
  trend: number[] | null;
  measures: { key: string; weight: number }[] | null;
  newest_data_at: Date | null;
}

/** What a warning message shows, for the customers about to be warned: one query. */
export async function loadWarningContext(db: DbOrTrx, customerIds: string[], trendPoints = 12): Promise<WarningContextRow[]> {
  if (customerIds.length === 0) return [];
  const { rows } = await sql<WarningContextRow>`
    SELECT c.id::text AS customer_id, c.name, c.arr, c.currency, c.renewal_date, c.team_id,
           t.channel_id AS team_channel_id, m.slack_user_id AS owner_slack_id, m.alert_channel_id AS owner_alert_channel_id,
           m.active AS owner_active, s.tier, s.measures, s.newest_data_at,
           (SELECT array_agg(x.health ORDER BY x.scored_at) FROM (
              SELECT h.health, h.scored_at FROM score_history h WHERE h.customer_id = c.id ORDER BY h.scored_at DESC LIMIT ${trendPoints}
           ) x) AS trend
    FROM customers c
    LEFT JOIN teams t ON t.id = c.team_id
    LEFT JOIN members m ON m.id = c.owner_member_id
    LEFT JOIN customer_scores s ON s.customer_id = c.id
    WHERE c.id = ANY(${customerIds}::bigint[])
  `.execute(db);
  return rows;
}

export interface NewAlert {
  customerId: string;
  rule: AlertRule;
  triggers: AlertRule[];
  health: number;
  band: Band;
  pAlive: number | null;
  drivers: StoredDriver[];
  raisedAt: Date;
}

/**
 * Insert warnings in one statement, each with the customer's next episode
 * number. ON CONFLICT DO NOTHING covers both the (customer, episode) key and
 * the one-warning-in-force index: a concurrent insert wins, this one is skipped
 * (and the next evaluation sees the winner).
 */
export async function insertAlerts(db: DbOrTrx, alerts: NewAlert[]): Promise<{ id: string; customer_id: string; episode: number }[]> {
  if (alerts.length === 0) return [];
  const { rows } = await sql<{ id: string; customer_id: string; episode: number }>`
    INSERT INTO alerts (customer_id, rule, triggers, episode, health, band, p_alive, drivers, raised_at)
    SELECT v.customer_id, v.rule, string_to_array(v.triggers, ','),
           coalesce((SELECT max(x.episode) FROM alerts x WHERE x.customer_id = v.customer_id), 0) + 1,
           v.health, v.band, v.p_alive, v.drivers::jsonb, v.raised_at
    FROM unnest(
      ${alerts.map((a) => a.customerId)}::bigint[], ${alerts.map((a) => a.rule)}::text[], ${alerts.map((a) => a.triggers.join(','))}::text[],
      ${alerts.map((a) => a.health)}::int[], ${alerts.map((a) => a.band)}::text[], ${alerts.map((a) => a.pAlive)}::float8[],
      ${alerts.map((a) => JSON.stringify(a.drivers))}::text[], ${alerts.map((a) => a.raisedAt.toISOString())}::timestamptz[]
    ) AS v(customer_id, rule, triggers, health, band, p_alive, drivers, raised_at)
    ON CONFLICT DO NOTHING
    RETURNING id::text AS id, customer_id::text AS customer_id, episode
  `.execute(db);
  return rows;
}

export async function resolveAlerts(db: DbOrTrx, items: { alertId: string; reason: string }[], at: Date): Promise<number> {
  if (items.length === 0) return 0;
  const { numAffectedRows } = await sql`
    UPDATE alerts a SET status = 'resolved', resolved_at = ${at.toISOString()}::timestamptz, resolved_reason = v.reason
    FROM unnest(${items.map((i) => i.alertId)}::bigint[], ${items.map((i) => i.reason)}::text[]) AS v(id, reason)
    WHERE a.id = v.id AND a.status <> 'resolved'
  `.execute(db);
  return Number(numAffectedRows ?? 0);
}

/** Resolve every warning in force of some customers (they churned). */
export async function resolveCustomerAlerts(db: DbOrTrx, customerId: string, reason: string, at: Date): Promise<void> {
  await db
    .updateTable('alerts')
    .set({ status: 'resolved', resolved_at: at, resolved_reason: reason })
    .where('customer_id', '=', customerId)
    .where('status', '<>', 'resolved')
    .execute();
}

export interface AlertForAction {
  id: string;
  customer_id: string;
  episode: number;
  rule: AlertRule;
  status: 'open' | 'acknowledged' | 'snoozed' | 'resolved';
  verdict: 'useful' | 'false_alarm' | null;
  activity: AlertActivity[];
  resolved_reason: string | null;
  customer_name: string;
  customer_team_id: number | null;
  owner_member_id: number | null;
}

/** Alerts and their customers; row-locked for a click's transaction. */
async function selectAlertsForAction(db: DbOrTrx, alertIds: readonly string[], lock: boolean): Promise<AlertForAction[]> {
  if (alertIds.length === 0) return [];
  const { rows } = await sql<AlertForAction>`
    SELECT a.id::text AS id, a.customer_id::text AS customer_id, a.episode, a.rule, a.status, a.verdict, a.activity, a.resolved_reason,
           c.name AS customer_name, c.team_id AS customer_team_id, c.owner_member_id
    FROM alerts a JOIN customers c ON c.id = a.customer_id
    WHERE a.id = ANY(${[...alertIds]}::bigint[])
    ${lock ? sql`FOR UPDATE OF a` : sql``}
  `.execute(db);
  return rows;
}

/** The alert and its customer, row-locked for the click's transaction. */
export async function lockAlert(db: DbOrTrx, alertId: string): Promise<AlertForAction | undefined> {
  return (await selectAlertsForAction(db, [alertId], true))[0];
}

/** Alerts (with their customers) as a click would see them, for re-rendering their messages. */
export function loadAlertsForAction(db: DbOrTrx, alertIds: readonly string[]): Promise<AlertForAction[]> {
  return selectAlertsForAction(db, alertIds, false);
}

export async function updateAlertAfterAction(
  db: DbOrTrx,
  alertId: string,
  set: {
    status?: 'open' | 'acknowledged' | 'snoozed';
    acknowledged?: { at: Date; by: string };
    snoozedUntil?: Date;
    verdict?: { value: 'useful' | 'false_alarm'; at: Date; by: string };
    activity: AlertActivity[];
  },
): Promise<void> {
  await db
    .updateTable('alerts')
    .set({
      ...(set.status ? { status: set.status } : {}),
      ...(set.acknowledged ? { acknowledged_at: set.acknowledged.at, acknowledged_by_slack_id: set.acknowledged.by } : {}),
      ...(set.snoozedUntil ? { snoozed_until: set.snoozedUntil } : {}),
      ...(set.verdict ? { verdict: set.verdict.value, verdict_at: set.verdict.at, verdict_by_slack_id: set.verdict.by } : {}),
      activity: JSON.stringify(set.activity),
    })
    .where('id', '=', alertId)
    .execute();
}

/** A follow-up logged from a warning: an interaction, and the customer marked for rescoring. */
export async function recordFollowUp(db: DbOrTrx, f: { customerId: string; authorSlackId: string; kind: string; note: string; at: Date }): Promise<void> {
  await db
    .insertInto('interactions')
    .values({ customer_id: f.customerId, author_slack_id: f.authorSlackId, kind: f.kind as never, note: f.note, occurred_at: f.at, created_at: f.at })
    .execute();
  await db.updateTable('customers').set({ data_changed_at: f.at, updated_at: f.at }).where('id', '=', f.customerId).execute();
}

export interface AlertStatsRow {
  rule: AlertRule;
  raised: number;
  acknowledged: number;
  useful: number;
  false_alarm: number;
}

/** Per-rule counts for `retain alerts stats`; the arithmetic is in stats.rules.ts. */
export async function alertStatsRows(db: DbOrTrx, since: Date | null): Promise<AlertStatsRow[]> {
  let q = db
    .selectFrom('alerts')
    .select((eb) => [
      'rule',
      eb.fn.countAll<string>().as('raised'),
      sql<string>`count(*) FILTER (WHERE acknowledged_at IS NOT NULL)`.as('acknowledged'),
      sql<string>`count(*) FILTER (WHERE verdict = 'useful')`.as('useful'),
      sql<string>`count(*) FILTER (WHERE verdict = 'false_alarm')`.as('false_alarm'),
    ])
    .groupBy('rule');
  if (since) q = q.where('raised_at', '>=', since);
  const rows = await q.execute();
  return rows.map((r) => ({
    rule: r.rule,
    raised: Number(r.raised),
    acknowledged: Number(r.acknowledged),
    useful: Number(r.useful),
    false_alarm: Number(r.false_alarm),
  }));
}
