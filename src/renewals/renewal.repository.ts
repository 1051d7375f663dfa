import { sql } from 'kysely';
import type { ChurnReason } from '../alerts/alert.table.js';
import type { DbOrTrx } from '../platform/db.js';
import type { Band, StoredDriver } from '../scores/score.table.js';

/** The only place with renewal queries; `db | trx` first. */

export interface ReminderCandidate {
  customer_id: string;
  name: string;
  arr: string | null;
  currency: string | null;
  renewal_date: string;
  days_left: number;
  team_id: number | null;
  team_channel_id: string | null;
  owner_slack_id: string | null;
  owner_alert_channel_id: string | null;
  owner_active: boolean | null;
  health: number | null;
  band: Band | null;
  tier: string | null;
  drivers: StoredDriver[] | null;
  trend: number[] | null;
}

/**
 * Active customers whose renewal is between today and `maxDays` ahead (today
 * in their team's time zone), undecided and not snoozed, whose reminder due
 * today (the smallest reminder day ≥ days left, as dueReminderDay decides)
 * has not been claimed yet — one page, keyed by customer id. `days_left` is
 * computed in SQL from the team's local date. Reminders already sent are left
 * out here, not by a failed claim per row: the scan runs whenever renewal
 * dates change, and then costs what is due, not the whole window.
 */
export async function reminderCandidates(
  db: DbOrTrx,
  o: { now: Date; defaultTz: string; maxDays: number; reminderDays: readonly number[]; afterId: string; limit: number },
): Promise<ReminderCandidate[]> {
  const now = o.now.toISOString();
  const { rows } = await sql<ReminderCandidate>`
    SELECT c.id::text AS customer_id, c.name, c.arr, c.currency, c.renewal_date, c.team_id,
           d.days_left,
           t.channel_id AS team_channel_id, m.slack_user_id AS owner_slack_id, m.alert_channel_id AS owner_alert_channel_id,
           m.active AS owner_active, s.health, s.band, s.tier, s.drivers,
           (SELECT array_agg(x.health ORDER BY x.scored_at) FROM (
              SELECT h.health, h.scored_at FROM score_history h WHERE h.customer_id = c.id ORDER BY h.scored_at DESC LIMIT 12
           ) x) AS trend
    FROM customers c
    LEFT JOIN teams t ON t.id = c.team_id
    LEFT JOIN members m ON m.id = c.owner_member_id
    LEFT JOIN customer_scores s ON s.customer_id = c.id
    LEFT JOIN renewals r ON r.customer_id = c.id AND r.renewal_date = c.renewal_date
    CROSS JOIN LATERAL (
      SELECT (c.renewal_date - (${now}::timestamptz AT TIME ZONE coalesce(t.tz, ${o.defaultTz}))::date) AS days_left
    ) d
    CROSS JOIN LATERAL (SELECT min(x) AS day FROM unnest(${[...o.reminderDays]}::int[]) AS x WHERE x >= d.days_left) due
    WHERE c.status = 'active'
      AND c.renewal_date BETWEEN (${now}::timestamptz AT TIME ZONE 'UTC')::date - 1 AND (${now}::timestamptz AT TIME ZONE 'UTC')::date + ${o.maxDays + 1}::int
      AND (r.id IS NULL OR (r.outcome IS NULL AND (r.snoozed_until IS NULL OR r.snoozed_until <= ${now}::timestamptz)))
      AND d.days_left >= 0 AND due.day IS NOT NULL
      -- The reminder's de-duplication key (notificationKeys.renewalReminder).
      AND NOT EXISTS (
        SELECT 1 FROM notifications n WHERE n.dedupe_key = 'renewal:' || c.id || ':' || to_char(c.renewal_date, 'YYYY-MM-DD') || ':' || due.day
      )
      AND c.id > ${o.afterId}::bigint
    ORDER BY c.id
    LIMIT ${o.limit}
  `.execute(db);
  return rows;
}

export interface DecisionSubject {
  id: string;
  name: string;
  status: 'active' | 'churned';
  renewal_date: string | null;
  owner_member_id: number | null;
  owner_slack_id: string | null;
  team_id: number | null;
  arr: string | null;
  tier: string | null;
}

/** The customer a renewal decision is about (read-only: the pre-check before a modal). */
export async function findDecisionSubject(db: DbOrTrx, customerId: string, opts: { lock?: boolean } = {}): Promise<DecisionSubject | undefined> {
  const { rows } = await sql<DecisionSubject>`
    SELECT c.id::text AS id, c.name, c.status, c.renewal_date, c.owner_member_id, m.slack_user_id AS owner_slack_id, c.team_id, c.arr, s.tier
    FROM customers c
    LEFT JOIN members m ON m.id = c.owner_member_id
    LEFT JOIN customer_scores s ON s.customer_id = c.id
    WHERE c.id = ${customerId}::bigint
    ${opts.lock ? sql`FOR UPDATE OF c` : sql``}
  `.execute(db);
  return rows[0];
}

/** The customer, row-locked: concurrent clicks on Renewed and Churned decide once. */
export function lockCustomer(db: DbOrTrx, customerId: string): Promise<DecisionSubject | undefined> {
  return findDecisionSubject(db, customerId, { lock: true });
}

export async function findRenewal(db: DbOrTrx, customerId: string, renewalDate: string) {
  return db.selectFrom('renewals').selectAll().where('customer_id', '=', customerId).where('renewal_date', '=', renewalDate).executeTakeFirst();
}

/** Record an outcome with its snapshot; a renewal already decided is left alone (returns false). */
export async function recordOutcome(
  db: DbOrTrx,
  r: {
    customerId: string;
    renewalDate: string;
    outcome: 'renewed' | 'churned';
    churnReason: ChurnReason | null;
    churnNote: string | null;
    arr: string | null;
    ownerMemberId: number | null;
    teamId: number | null;
    tier: string | null;
    decidedAt: Date;
    decidedBy: string;
  },
): Promise<boolean> {
  const row = await db
    .insertInto('renewals')
    .values({
      customer_id: r.customerId,
      renewal_date: r.renewalDate,
      outcome: r.outcome,
      churn_reason: r.churnReason,
      churn_note: r.churnNote,
      arr: r.arr,
      owner_member_id: r.ownerMemberId,
      team_id: r.teamId,
      tier: r.tier,
      decided_at: r.decidedAt,
      decided_by_slack_id: r.decidedBy,
      created_at: r.decidedAt,
    })
    .onConflict((oc) =>
      oc
        .columns(['customer_id', 'renewal_date'])
        .doUpdateSet((eb) => ({
          outcome: eb.ref('excluded.outcome'),
          churn_reason: eb.ref('excluded.churn_reason'),
          churn_note: eb.ref('excluded.churn_note'),
          arr: eb.ref('excluded.arr'),
          owner_member_id: eb.ref('excluded.owner_member_id'),
          team_id: eb.ref('excluded.team_id'),
          tier: eb.ref('excluded.tier'),
          decided_at: eb.ref('excluded.decided_at'),
          decided_by_slack_id: eb.ref('excluded.decided_by_slack_id'),
        }))
        .where('renewals.outcome', 'is', null),
    )
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function rollRenewalForward(db: DbOrTrx, customerId: string, nextDate: string, at: Date): Promise<void> {
  await db.updateTable('customers').set({ renewal_date: nextDate, updated_at: at }).where('id', '=', customerId).execute();
}

/** The customer churned when its contract ended (`endedAt`), whenever someone clicks to say so. */
export async function markCustomerChurned(db: DbOrTrx, customerId: string, endedAt: Date, at: Date): Promise<void> {
  await db.updateTable('customers').set({ status: 'churned', churned_at: endedAt, updated_at: at }).where('id', '=', customerId).execute();
}

export async function snoozeRenewal(db: DbOrTrx, customerId: string, renewalDate: string, until: Date, at: Date): Promise<void> {
  await db
    .insertInto('renewals')
    .values({ customer_id: customerId, renewal_date: renewalDate, snoozed_until: until, created_at: at })
    .onConflict((oc) => oc.columns(['customer_id', 'renewal_date']).doUpdateSet({ snoozed_until: until }))
    .execute();
}

export interface DecidedRow {
  renewal_date: string;
  outcome: 'renewed' | 'churned';
  churn_reason: ChurnReason | null;
  team_key: string | null;
  owner_slack_id: string | null;
  tier: string | null;
}

/** Decided renewals with their snapshots, for renewal-rate reports. */
export async function decidedRenewals(db: DbOrTrx, o: { from?: string; to?: string; teamId?: number } = {}): Promise<DecidedRow[]> {
  let q = db
    .selectFrom('renewals as r')
    .leftJoin('teams as t', 't.id', 'r.team_id')
    .leftJoin('members as m', 'm.id', 'r.owner_member_id')
    .select(['r.renewal_date', 'r.outcome', 'r.churn_reason', 't.key as team_key', 'm.slack_user_id as owner_slack_id', 'r.tier'])
    .where('r.outcome', 'is not', null);
  if (o.from) q = q.where('r.renewal_date', '>=', o.from);
  if (o.to) q = q.where('r.renewal_date', '<=', o.to);
  if (o.teamId !== undefined) q = q.where('r.team_id', '=', o.teamId);
  const rows = await q.orderBy('r.renewal_date').execute();
  return rows as DecidedRow[];
}
