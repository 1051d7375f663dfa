import { sql } from 'kysely';
import { listFailedForTeam } from '../alerts/outbox.repository.js';
import type { DbOrTrx } from '../platform/db.js';
import { decidedRenewals } from '../renewals/renewal.repository.js';
import { openRenewalsBetween } from '../renewals/renewal-model.repository.js';
import { parseRenewalModel } from '../renewals/renewal-model.rules.js';
import { latestFit } from '../scores/fit.repository.js';
import type { Band } from '../scores/score.table.js';
import type { DigestInput } from './digest.rules.js';

/**
 * The digest's candidate rows for one team: one set-based query per section,
 * run together. Selection (what counts as a mover, overdue, escalated…) is in
 * digest.rules.ts; these queries only narrow to plausible candidates.
 */
export interface DigestQuery {
  teamId: number;
  now: Date;
  localDate: string;
  quarter: { key: string; start: string; end: string };
  renewalWindowDays: number;
  moversWindowDays: number;
  cap: number;
}

const num = (v: string | number | null) => (v === null ? null : Number(v));

export async function loadDigestInput(db: DbOrTrx, q: DigestQuery): Promise<DigestInput> {
  const now = q.now.toISOString();
  const since = new Date(q.now.getTime() - 86_400_000);
  const [scores, movers, renewals, tierA, disputes, unowned, feedback, decided, failed, open, renewalFit] = await Promise.all([
    sql<{
      customer_id: string;
      name: string;
      owner_slack_id: string | null;
      arr: string | null;
      currency: string | null;
      health: number;
      band: Band;
      previous_band: Band | null;
      previous_health: number | null;
      scored_at: Date;
    }>`
      SELECT c.id::text AS customer_id, c.name, m.slack_user_id AS owner_slack_id, c.arr, c.currency,
             s.health, s.band, b.band AS previous_band, b.health AS previous_health, s.scored_at
      FROM customers c
      JOIN customer_scores s ON s.customer_id = c.id
      LEFT JOIN members m ON m.id = c.owner_member_id
      -- the band a day ago (several runs may have happened since): red now, not red then
      LEFT JOIN LATERAL (
        SELECT h.band, h.health FROM score_history h
        WHERE h.customer_id = c.id AND h.scored_at < ${since.toISOString()}::timestamptz
        ORDER BY h.scored_at DESC LIMIT 1
      ) b ON true
      WHERE c.team_id = ${q.teamId} AND c.status = 'active' AND s.band = 'red' AND s.scored_at >= ${since.toISOString()}::timestamptz
      ORDER BY c.arr DESC NULLS LAST
      LIMIT 500
    `.execute(db),
    sql<{
      customer_id: string;
      name: string;
      owner_slack_id: string | null;
      arr: string | null;
      currency: string | null;
      health: number;
      baseline: number | null;
      trend: number[] | null;
    }>`
      SELECT x.* FROM (
        SELECT c.id::text AS customer_id, c.name, m.slack_user_id AS owner_slack_id, c.arr, c.currency, s.health,
               (SELECT h.health FROM score_history h
                 WHERE h.customer_id = c.id AND h.scored_at <= ${now}::timestamptz - make_interval(days => ${q.moversWindowDays})
                 ORDER BY h.scored_at DESC LIMIT 1)::int AS baseline,
               (SELECT array_agg(t.health ORDER BY t.scored_at) FROM (
                  SELECT h.health, h.scored_at FROM score_history h WHERE h.customer_id = c.id ORDER BY h.scored_at DESC LIMIT 14
               ) t) AS trend
        FROM customers c
        JOIN customer_scores s ON s.customer_id = c.id
        LEFT JOIN members m ON m.id = c.owner_member_id
        WHERE c.team_id = ${q.teamId} AND c.status = 'active'
      ) x
      WHERE x.baseline IS NOT NULL
      ORDER BY abs(x.health - x.baseline) DESC
      LIMIT 200
    `.execute(db),
    sql<{
      customer_id: string;
      name: string;
      owner_slack_id: string | null;
      arr: string | null;
      currency: string | null;
      renewal_date: string;
      health: number | null;
      band: Band | null;
    }>`
      SELECT c.id::text AS customer_id, c.name, m.slack_user_id AS owner_slack_id, c.arr, c.currency, c.renewal_date, s.health, s.band
      FROM customers c
      LEFT JOIN customer_scores s ON s.customer_id = c.id
      LEFT JOIN members m ON m.id = c.owner_member_id
      WHERE c.team_id = ${q.teamId} AND c.status = 'active'
        AND c.renewal_date <= ${q.localDate}::date + ${q.renewalWindowDays}::int
        AND NOT EXISTS (SELECT 1 FROM renewals r WHERE r.customer_id = c.id AND r.renewal_date = c.renewal_date AND r.outcome IS NOT NULL)
      ORDER BY c.renewal_date DESC
      LIMIT 2000
    `.execute(db),
    sql<{ customer_id: string; name: string; owner_slack_id: string | null; arr: string | null; currency: string | null; last_touch_at: Date | null }>`
      SELECT c.id::text AS customer_id, c.name, m.slack_user_id AS owner_slack_id, c.arr, c.currency,
             (SELECT max(i.occurred_at) FROM interactions i WHERE i.customer_id = c.id) AS last_touch_at
      FROM customers c
      JOIN customer_scores s ON s.customer_id = c.id
      LEFT JOIN members m ON m.id = c.owner_member_id
      WHERE c.team_id = ${q.teamId} AND c.status = 'active' AND s.tier = 'A'
      ORDER BY last_touch_at ASC NULLS FIRST
      LIMIT 2000
    `.execute(db),
    sql<{
      dispute_id: string;
      customer_name: string;
      claimant_slack_id: string | null;
      owner_slack_id: string | null;
      opened_at: Date;
      escalated_at: Date | null;
    }>`
      SELECT d.id::text AS dispute_id, c.name AS customer_name, cm.slack_user_id AS claimant_slack_id, om.slack_user_id AS owner_slack_id,
             d.opened_at, d.escalated_at
      FROM disputes d
      JOIN customers c ON c.id = d.customer_id
      LEFT JOIN members cm ON cm.id = d.claimant_member_id
      LEFT JOIN members om ON om.id = d.owner_member_id
      WHERE c.team_id = ${q.teamId} AND d.status = 'open'
      ORDER BY d.opened_at
      LIMIT 500
    `.execute(db),
    sql<{ customer_id: string; name: string; arr: string | null; currency: string | null; total: string }>`
      SELECT c.id::text AS customer_id, c.name, c.arr, c.currency, count(*) OVER () AS total
      FROM customers c
      WHERE c.team_id = ${q.teamId} AND c.status = 'active' AND c.owner_member_id IS NULL
      ORDER BY c.arr DESC NULLS LAST, c.name
      LIMIT ${q.cap}
    `.execute(db),
    sql<{ customer_name: string; kind: 'complaint' | 'praise' | 'suggestion' | 'question'; text: string; author_slack_id: string; created_at: Date }>`
      SELECT c.name AS customer_name, f.kind, f.text, f.author_slack_id, f.created_at
      FROM feedback f JOIN customers c ON c.id = f.customer_id
      WHERE c.team_id = ${q.teamId} AND f.created_at >= ${since.toISOString()}::timestamptz AND f.created_at <= ${now}::timestamptz
      ORDER BY f.created_at DESC
      LIMIT 200
    `.execute(db),
    decidedRenewals(db, { from: q.quarter.start, to: q.quarter.end, teamId: q.teamId }),
    listFailedForTeam(db, q.teamId, since, 200),
    openRenewalsBetween(db, { from: q.quarter.start, to: q.quarter.end, teamId: q.teamId }),
    latestFit(db, 'renewal'),
  ]);
  return {
    now: q.now,
    localDate: q.localDate,
    scores: scores.rows.map((r) => ({
      customerId: r.customer_id,
      name: r.name,
      ownerSlackId: r.owner_slack_id,
      arr: num(r.arr),
      currency: r.currency,
      health: r.health,
      band: r.band,
      previousBand: r.previous_band,
      previousHealth: r.previous_health,
      scoredAt: new Date(r.scored_at),
    })),
    movers: movers.rows.map((r) => ({
      customerId: r.customer_id,
      name: r.name,
      ownerSlackId: r.owner_slack_id,
      arr: num(r.arr),
      currency: r.currency,
      health: r.health,
      baseline: r.baseline,
      trend: r.trend ?? [],
    })),
    renewals: renewals.rows.map((r) => ({
      customerId: r.customer_id,
      name: r.name,
      ownerSlackId: r.owner_slack_id,
      arr: num(r.arr),
      currency: r.currency,
      renewalDate: r.renewal_date,
      health: r.health,
      band: r.band,
    })),
    tierA: tierA.rows.map((r) => ({
      customerId: r.customer_id,
      name: r.name,
      ownerSlackId: r.owner_slack_id,
      arr: num(r.arr),
      currency: r.currency,
      lastTouchAt: r.last_touch_at ? new Date(r.last_touch_at) : null,
    })),
    disputes: disputes.rows.map((r) => ({
      disputeId: r.dispute_id,
      customerName: r.customer_name,
      claimantSlackId: r.claimant_slack_id,
      ownerSlackId: r.owner_slack_id,
      openedAt: new Date(r.opened_at),
      escalatedAt: r.escalated_at ? new Date(r.escalated_at) : null,
    })),
    unowned: unowned.rows.map((r) => ({ customerId: r.customer_id, name: r.name, ownerSlackId: null, arr: num(r.arr), currency: r.currency })),
    unownedTotal: unowned.rows.length ? Number(unowned.rows[0]!.total) : 0,
    feedback: feedback.rows.map((r) => ({
      customerName: r.customer_name,
      kind: r.kind,
      text: r.text,
      authorSlackId: r.author_slack_id,
      createdAt: new Date(r.created_at),
    })),
    decidedThisQuarter: decided.map((r) => ({
      renewalDate: r.renewal_date,
      outcome: r.outcome,
      team: r.team_key,
      owner: r.owner_slack_id,
      tier: r.tier,
      churnReason: r.churn_reason,
    })),
    quarter: q.quarter.key,
    failed: failed.map((f) => ({ id: f.id, kind: f.kind, channelId: f.channel_id, reason: f.last_error, at: new Date(f.updated_at) })),
    renewalOutlook: {
      model: parseRenewalModel(renewalFit?.details),
      open: open.map((r) => ({
        customerId: r.customer_id,
        arr: num(r.arr) ?? 0,
        renewalDate: r.renewal_date,
        startedAt: r.started_at ? new Date(r.started_at) : null,
        plan: r.plan,
        tier: r.tier,
        team: r.team_key,
        churnProbability: r.churn_probability,
      })),
    },
  };
}

export async function getTeam(db: DbOrTrx, teamId: number) {
  return db.selectFrom('teams').selectAll().where('id', '=', teamId).executeTakeFirst();
}
