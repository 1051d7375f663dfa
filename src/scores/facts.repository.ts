import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { Quintile, ValueTier } from '../scoring/index.js';
import type { PopulationTable } from './population.repository.js';
import type { CustomerFacts } from './score.rules.js';
import { utcDay } from './utc-day.sql.js';

/**
 * What a score is computed from, read as of a date: per signal kind, when
 * the book's feeds last arrived (for their freshness); per batch of
 * customers, one aggregate statement over their signals, feedback,
 * interactions and population row.
 *
 * Days are whole UTC days (floor(epoch / 86400)), as in scoring/purchases.ts.
 */

export interface FeedArrivals {
  kind: string;
  lastAt: Date;
  /** Distinct arrival days (newest first, at most `maxDays`), for the typical gap. */
  days: Date[];
}

/**
 * Per signal kind: its last arrival on or before as-of and the last `maxDays`
 * distinct days it arrived on — a skip scan over the (kind, occurred_at)
 * index, one index probe per day and kind instead of a scan of the signals.
 */
export async function feedArrivals(db: DbOrTrx, kinds: readonly string[], asOf: Date, maxDays = 30): Promise<FeedArrivals[]> {
  const r = await sql<{ kind: string; at: Date }>`
    WITH RECURSIVE walk(kind, at, n) AS (
      SELECT k.kind,
        (SELECT max(s.occurred_at) FROM signals s WHERE s.kind = k.kind AND s.occurred_at <= ${asOf}::timestamptz),
        1
      FROM unnest(${kinds as string[]}::text[]) AS k(kind)
      UNION ALL
      SELECT w.kind,
        (SELECT max(s.occurred_at) FROM signals s
          WHERE s.kind = w.kind AND s.occurred_at < date_trunc('day', w.at, 'UTC')),
        w.n + 1
      FROM walk w
      WHERE w.at IS NOT NULL AND w.n < ${maxDays}::int
    )
    SELECT kind, at FROM walk WHERE at IS NOT NULL ORDER BY kind, at DESC`.execute(db);
  const byKind = new Map<string, FeedArrivals>();
  for (const row of r.rows) {
    const at = new Date(row.at);
    const f = byKind.get(row.kind);
    if (f) f.days.push(at);
    else byKind.set(row.kind, { kind: row.kind, lastAt: at, days: [at] });
  }
  return [...byKind.values()];
}

/** Whether the book has any complaint feedback / any interaction on or before as-of. */
export async function humanFeeds(db: DbOrTrx, asOf: Date): Promise<{ complaintFeedback: boolean; interactions: boolean }> {
  const r = await sql<{ complaint_feedback: boolean; interactions: boolean }>`
    SELECT
      EXISTS (SELECT 1 FROM feedback WHERE kind = 'complaint' AND created_at <= ${asOf}::timestamptz) AS complaint_feedback,
      EXISTS (SELECT 1 FROM interactions WHERE occurred_at <= ${asOf}::timestamptz) AS interactions`.execute(db);
  const row = r.rows[0]!;
  return { complaintFeedback: row.complaint_feedback, interactions: row.interactions };
}

interface FactsRow {
  customer_id: string;
  x: number | null;
  first_day: number | null;
  last_day: number | null;
  repeat_amount: number | null;
  as_of_day: number;
  has_usage: boolean | null;
  usage_last30: number | null;
  usage_prev60: number | null;
  complaint_ages: number[] | null;
  feedback_complaint_ages: number[] | null;
  payment_failures: number | null;
  latest_nps: number | null;
  latest_nps_age: number | null;
  fb_n90: number | null;
  fb_mean90: number | null;
  fb_neg90: number | null;
  fb_pos90: number | null;
  touch_age: number | null;
  newest_at: Date | null;
  rfm_r: number | null;
  rfm_f: number | null;
  rfm_m: number | null;
  tier: ValueTier | null;
  data_changed_at: string | null;
}

/**
 * One statement per batch: signals (purchase-day summary with same-day
 * orders merged, usage windows, complaint ages, payment failures, latest NPS,
 * newest signal), feedback (sentiment in 90 days, complaint ages), the last
 * interaction and the run's population row, for every customer of the batch
 * — and the customer's data_changed_at, which the batch stores with the score.
 */
export async function aggregateBatch(
  db: DbOrTrx,
  opts: { runId: string; batch: number; customerIds: readonly string[]; asOf: Date; table?: PopulationTable },
): Promise<CustomerFacts[]> {
  const ids = [...opts.customerIds];
  if (ids.length === 0) return [];
  const asOf = opts.asOf;
  const day = 86_400_000;
  // Window edges computed here, not per row in SQL (timestamptz − interval is
  // only stable, so Postgres would evaluate it for every signal).
  const d30 = new Date(asOf.getTime() - 30 * day);
  const d90 = new Date(asOf.getTime() - 90 * day);
  const asOfDay = Math.floor(asOf.getTime() / day);
  const asOfEpoch = asOf.getTime() / 1000;
  const pop = sql.table(opts.table ?? 'run_population');
  // A dense batch (consecutive ids, as full runs cut them) reads the signal
  // index by range; a sparse one (incremental runs) probes it per id.
  const numeric = ids.map(Number);
  const lo = Math.min(...numeric);
  const hi = Math.max(...numeric);
  const dense = hi - lo + 1 <= ids.length * 2;
  // Customers in the range but not in the batch are aggregated and dropped by
  // the final join from ids; the density rule bounds that waste to 2×.
  const inBatch = (col: string) => (dense ? sql`${sql.ref(col)} BETWEEN ${lo} AND ${hi}` : sql`${sql.ref(col)} = ANY(${ids}::bigint[])`);
  const r = await sql<FactsRow>`
    WITH ids AS MATERIALIZED (SELECT unnest(${ids}::bigint[]) AS customer_id),
    sig AS MATERIALIZED (
      SELECT s.customer_id, s.kind, s.occurred_at, s.value
      FROM signals s
      WHERE ${inBatch('s.customer_id')} AND s.occurred_at <= ${asOf}::timestamptz
    ),
    sig_agg AS (
      SELECT customer_id,
        max(occurred_at) AS newest_at,
        bool_or(kind = 'usage') AS has_usage,
        coalesce(sum(value) FILTER (WHERE kind = 'usage' AND occurred_at > ${d30}::timestamptz), 0)::float8 AS usage_last30,
        coalesce(sum(value) FILTER (WHERE kind = 'usage' AND occurred_at > ${d90}::timestamptz AND occurred_at <= ${d30}::timestamptz), 0)::float8 AS usage_prev60,
        count(*) FILTER (WHERE kind = 'payment_failed' AND occurred_at > ${d90}::timestamptz)::int AS payment_failures
      FROM sig
      GROUP BY customer_id
    ),
    -- Small side aggregates over the few rows of their kind, so the main
    -- aggregate keeps fixed-size states (no arrays) and stays in memory.
    complaints AS (
      SELECT customer_id, array_agg((${asOfEpoch}::float8 - extract(epoch FROM occurred_at)::float8) / 86400) AS ages
      FROM sig WHERE kind = 'complaint' AND occurred_at > ${d90}::timestamptz
      GROUP BY customer_id
    ),
    nps AS (
      SELECT DISTINCT ON (customer_id) customer_id, value::float8 AS score,
        (${asOfEpoch}::float8 - extract(epoch FROM occurred_at)::float8) / 86400 AS age
      FROM sig WHERE kind = 'nps' AND value IS NOT NULL
      ORDER BY customer_id, occurred_at DESC
    ),
    order_days AS (
      SELECT customer_id, ${utcDay('occurred_at')} AS day, sum(coalesce(value, 0))::float8 AS amount
      FROM sig WHERE kind = 'order'
      GROUP BY 1, 2
    ),
    orders AS (
      -- min(ARRAY[day, amount]) is the first purchase day's row: its amount is not a repeat.
      SELECT customer_id, (count(*) - 1)::int AS x, min(day) AS first_day, max(day) AS last_day,
        (sum(amount) - (min(ARRAY[day::float8, amount]))[2])::float8 AS repeat_amount
      FROM order_days
      GROUP BY customer_id
    ),
    fb AS (
      SELECT f.customer_id,
        max(f.created_at) AS newest_at,
        count(*) FILTER (WHERE f.created_at > ${d90}::timestamptz)::int AS n90,
        (avg(f.sentiment) FILTER (WHERE f.created_at > ${d90}::timestamptz))::float8 AS mean90,
        count(*) FILTER (WHERE f.created_at > ${d90}::timestamptz AND f.sentiment < 0)::int AS neg90,
        count(*) FILTER (WHERE f.created_at > ${d90}::timestamptz AND f.sentiment > 0)::int AS pos90,
        array_agg((${asOfEpoch}::float8 - extract(epoch FROM f.created_at)::float8) / 86400)
          FILTER (WHERE f.kind = 'complaint' AND f.created_at > ${d90}::timestamptz) AS complaint_ages
      FROM feedback f
      WHERE ${inBatch('f.customer_id')} AND f.created_at <= ${asOf}::timestamptz
      GROUP BY f.customer_id
    ),
    touch AS (
      SELECT i.customer_id, max(i.occurred_at) AS last_at
      FROM interactions i
      WHERE ${inBatch('i.customer_id')} AND i.occurred_at <= ${asOf}::timestamptz
      GROUP BY i.customer_id
    )
    SELECT ids.customer_id::text AS customer_id,
      o.x, o.first_day, o.last_day, o.repeat_amount,
      ${asOfDay}::int AS as_of_day,
      sa.has_usage, sa.usage_last30, sa.usage_prev60, cm.ages AS complaint_ages, fb.complaint_ages AS feedback_complaint_ages,
      sa.payment_failures, nps.score AS latest_nps, nps.age AS latest_nps_age,
      fb.n90 AS fb_n90, fb.mean90 AS fb_mean90, fb.neg90 AS fb_neg90, fb.pos90 AS fb_pos90,
      (${asOfEpoch}::float8 - extract(epoch FROM t.last_at)::float8) / 86400 AS touch_age,
      nullif(greatest(coalesce(sa.newest_at, '-infinity'), coalesce(fb.newest_at, '-infinity'), coalesce(t.last_at, '-infinity')), '-infinity') AS newest_at,
      p.rfm_r, p.rfm_f, p.rfm_m, p.tier,
      -- Read in the same snapshot as the data above: the score covers every change up to it.
      -- As text: the stamp has microseconds, a JS Date only milliseconds.
      c.data_changed_at::text AS data_changed_at
    FROM ids
    LEFT JOIN customers c ON c.id = ids.customer_id
    LEFT JOIN sig_agg sa ON sa.customer_id = ids.customer_id
    LEFT JOIN orders o ON o.customer_id = ids.customer_id
    LEFT JOIN complaints cm ON cm.customer_id = ids.customer_id
    LEFT JOIN nps ON nps.customer_id = ids.customer_id
    LEFT JOIN fb ON fb.customer_id = ids.customer_id
    LEFT JOIN touch t ON t.customer_id = ids.customer_id
    LEFT JOIN ${pop} p ON p.run_id = ${opts.runId}::bigint AND p.batch = ${opts.batch}::int AND p.customer_id = ids.customer_id`.execute(db);
  return r.rows.map(toFacts);
}

function toFacts(row: FactsRow): CustomerFacts {
  const hasOrders = row.x !== null && row.first_day !== null && row.last_day !== null;
  const x = hasOrders ? row.x! : null;
  return {
    customerId: row.customer_id,
    x,
    txDays: hasOrders ? (x === 0 ? 0 : row.last_day! - row.first_day!) : null,
    TDays: hasOrders ? row.as_of_day - row.first_day! : null,
    meanRepeat: hasOrders ? (x! > 0 ? (row.repeat_amount ?? 0) / x! : 0) : null,
    hasUsage: row.has_usage === true,
    usageLast30: row.usage_last30 ?? 0,
    usagePrev60: row.usage_prev60 ?? 0,
    complaintAgesDays: [...(row.complaint_ages ?? []), ...(row.feedback_complaint_ages ?? [])],
    paymentFailures90d: row.payment_failures ?? 0,
    latestNps: row.latest_nps,
    latestNpsAgeDays: row.latest_nps_age,
    feedbackCount90d: row.fb_n90 ?? 0,
    sentimentMean90d: row.fb_mean90,
    sentimentNegative90d: row.fb_neg90 ?? 0,
    sentimentPositive90d: row.fb_pos90 ?? 0,
    daysSinceLastTouch: row.touch_age,
    newestDataAt: row.newest_at ? new Date(row.newest_at) : null,
    rfm:
      row.rfm_r !== null && row.rfm_f !== null && row.rfm_m !== null ? { r: row.rfm_r as Quintile, f: row.rfm_f as Quintile, m: row.rfm_m as Quintile } : null,
    tier: row.tier,
    dataChangedAt: row.data_changed_at,
  };
}
