import { sql, type RawBuilder } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { ObservationCount, SegmentBy } from './renewal-model.rules.js';

/**
 * The renewal model's queries: each customer's contract observation (tenure
 * in contract years, churned or still active) grouped by segment in one
 * statement, and the renewals due in a period with what the forecast needs.
 */

function segmentOf(by: SegmentBy): RawBuilder<string> {
  switch (by) {
    case 'plan':
      return sql<string>`coalesce(nullif(c.plan, ''), '(no plan)')`;
    case 'tier':
      // The tier of the latest score: today's, even for a fit as of a past date.
      return sql<string>`coalesce(s.tier, '(no tier)')`;
    case 'none':
      return sql<string>`'all'`;
  }
}

export interface LeftOut {
  /** No contract start known: never guessed. */
  noStart: number;
  /** Contract starting after as-of: nothing observed yet. */
  notStarted: number;
  /** Marked churned without a churn date: the period it ended in is unknown. */
  churnedUndated: number;
  /** Churn dated before the contract start. */
  churnBeforeStart: number;
}

/**
 * Contract observations as of a date, counted per (segment, periods,
 * churned), with contract years counted by anniversaries of started_at in
 * UTC — as scoring/retention.ts contractObservation defines them: the k-th
 * anniversary is the same month, day and time k years on (29 February → 28
 * February, as `timestamp + interval 'k years'` does); a churn on or before
 * as-of ends the contract year it falls in (a churn exactly on an
 * anniversary ends the year just completed); anyone else is active with the
 * anniversaries passed so far (right-censored), whatever year they started.
 */
export async function contractObservationCounts(db: DbOrTrx, asOf: Date, by: SegmentBy): Promise<{ counts: ObservationCount[]; leftOut: LeftOut }> {
  const r = await sql<{ segment: string | null; periods: number | null; churned: boolean | null; n: number; problem: string | null }>`
    WITH c AS (
      SELECT ${segmentOf(by)} AS segment,
        c.started_at AT TIME ZONE 'UTC' AS s,
        CASE WHEN c.churned_at <= ${asOf}::timestamptz THEN c.churned_at AT TIME ZONE 'UTC' END AS ch,
        c.status = 'churned' AND c.churned_at IS NULL AS undated,
        c.started_at IS NULL AS no_start,
        c.started_at > ${asOf}::timestamptz AS not_started,
        c.churned_at < c.started_at AS before_start
      FROM customers c
      LEFT JOIN customer_scores s ON s.customer_id = c.id
    ),
    judged AS (
      SELECT segment, s, coalesce(ch, ${asOf}::timestamptz AT TIME ZONE 'UTC') AS until, ch IS NOT NULL AS churned
      FROM c
      WHERE NOT no_start AND NOT not_started AND NOT undated AND NOT coalesce(before_start, false)
    ),
    years AS (
      -- Anniversaries on or before "until": the difference in calendar years,
      -- less one when this year's anniversary is still ahead.
      SELECT segment, churned, s, until,
        (extract(year FROM until) - extract(year FROM s))::int
          - (s + make_interval(years => (extract(year FROM until) - extract(year FROM s))::int) > until)::int AS k
      FROM judged
    ),
    observed AS (
      SELECT segment, churned,
        CASE WHEN NOT churned THEN k
             WHEN k > 0 AND s + make_interval(years => k) = until THEN k
             ELSE k + 1 END AS periods
      FROM years
    )
    SELECT segment, periods, churned, count(*)::int AS n, NULL AS problem FROM observed GROUP BY 1, 2, 3
    UNION ALL
    SELECT NULL, NULL, NULL, count(*)::int, CASE
        WHEN no_start THEN 'no_start' WHEN not_started THEN 'not_started' WHEN undated THEN 'undated' ELSE 'before_start' END
    FROM c WHERE no_start OR not_started OR undated OR coalesce(before_start, false)
    GROUP BY 5`.execute(db);
  const leftOut: LeftOut = { noStart: 0, notStarted: 0, churnedUndated: 0, churnBeforeStart: 0 };
  const counts: ObservationCount[] = [];
  for (const row of r.rows) {
    if (row.problem === null) counts.push({ segment: row.segment!, periods: row.periods!, churned: row.churned!, n: row.n });
    else if (row.problem === 'no_start') leftOut.noStart = row.n;
    else if (row.problem === 'not_started') leftOut.notStarted = row.n;
    else if (row.problem === 'undated') leftOut.churnedUndated = row.n;
    else leftOut.churnBeforeStart = row.n;
  }
  return { counts, leftOut };
}

export interface DueRenewalRow {
  customer_id: string;
  name: string;
  arr: string | null;
  renewal_date: string;
  started_at: Date | null;
  plan: string | null;
  tier: string | null;
  team_key: string | null;
  team_name: string | null;
  churn_probability: number | null;
}

/**
 * Active customers whose renewal falls in [from, to] and is not decided yet
 * (overdue ones in the period included), optionally one team's.
 */
export async function openRenewalsBetween(db: DbOrTrx, o: { from: string; to: string; teamId?: number }): Promise<DueRenewalRow[]> {
  const r = await sql<DueRenewalRow>`
    SELECT c.id::text AS customer_id, c.name, c.arr, c.renewal_date, c.started_at, c.plan, s.tier,
      t.key AS team_key, t.name AS team_name,
      CASE WHEN s.churn_horizon_days IS NOT NULL THEN s.churn_probability END AS churn_probability
    FROM customers c
    LEFT JOIN customer_scores s ON s.customer_id = c.id
    LEFT JOIN teams t ON t.id = c.team_id
    WHERE c.status = 'active' AND c.renewal_date BETWEEN ${o.from}::date AND ${o.to}::date
      ${o.teamId !== undefined ? sql`AND c.team_id = ${o.teamId}` : sql``}
      AND NOT EXISTS (
        SELECT 1 FROM renewals r WHERE r.customer_id = c.id AND r.renewal_date = c.renewal_date AND r.outcome IS NOT NULL
      )
    ORDER BY c.id`.execute(db);
  return r.rows;
}

/** Renewals due in [from, to] already decided (the part of the period that is no longer a forecast). */
export async function decidedBetween(
  db: DbOrTrx,
  o: { from: string; to: string; teamId?: number },
): Promise<{ renewed: number; churned: number; churnedArr: number }> {
  const r = await sql<{ renewed: number; churned: number; churned_arr: string | null }>`
    SELECT count(*) FILTER (WHERE outcome = 'renewed')::int AS renewed, count(*) FILTER (WHERE outcome = 'churned')::int AS churned,
      sum(arr) FILTER (WHERE outcome = 'churned') AS churned_arr
    FROM renewals
    WHERE outcome IS NOT NULL AND renewal_date BETWEEN ${o.from}::date AND ${o.to}::date
      ${o.teamId !== undefined ? sql`AND team_id = ${o.teamId}` : sql``}`.execute(db);
  const row = r.rows[0]!;
  return { renewed: row.renewed, churned: row.churned, churnedArr: Number(row.churned_arr ?? 0) };
}
