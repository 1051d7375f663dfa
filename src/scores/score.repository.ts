import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { ScoredCustomer } from './hooks.js';
import type { ComputedScore } from './score.rules.js';
import type { Band, StoredDriver, Tier } from './score.table.js';

/**
 * A run's scores: the batch write (score history and the latest score per
 * customer, in one statement), the latest scores a run wrote, and the run's
 * band summary.
 */

function rowsJson(scores: readonly ComputedScore[], seen: ReadonlyMap<string, string | null>): string {
  return JSON.stringify(
    scores.map((s) => ({
      data_seen_at: seen.get(s.customerId) ?? null,
      customer_id: s.customerId,
      health: s.health,
      band: s.band,
      p_alive: s.pAlive,
      expected_orders_90d: s.expectedOrders90d,
      clv: s.clv,
      rfm_r: s.rfmR,
      rfm_f: s.rfmF,
      rfm_m: s.rfmM,
      rfm_segment: s.rfmSegment,
      tier: s.tier,
      drivers: s.drivers,
      measures: s.measures,
      newest_data_at: s.newestDataAt ? s.newestDataAt.toISOString() : null,
      churn_probability: s.churnProbability ?? null,
      churn_horizon_days: s.churnHorizonDays ?? null,
    })),
  );
}

const RECORD_COLUMNS = sql`r(customer_id bigint, health smallint, band text, p_alive float8, expected_orders_90d float8, clv numeric,
  rfm_r smallint, rfm_f smallint, rfm_m smallint, rfm_segment text, tier text, drivers jsonb, measures jsonb, newest_data_at timestamptz,
  churn_probability float8, churn_horizon_days smallint, data_seen_at timestamptz)`;

export interface LatestWritten {
  customerId: string;
  previousHealth: number | null;
  previousBand: Band | null;
}

/**
 * Writes a batch's scores: history (the numbers, one row per run and
 * customer; a re-run batch rewrites its rows) and the latest score per
 * customer with its explanation (drivers, measures, stale feeds), in one
 * statement — the rows are sent and parsed once, each table gets one insert.
 *
 * previous_* shift only when the stored latest row came from another run, so
 * re-running a batch keeps them right; a latest row from a run with a later
 * as-of is never overwritten by an older run. Returns the latest rows written
 * (the customers whose current score is now this run's). `seen` holds each
 * customer's data_changed_at as read with the facts scored (data_seen_at, as
 * Postgres text: exact to the microsecond).
 */
export async function writeScores(
  db: DbOrTrx,
  runId: string,
  scoredAt: Date,
  stale: readonly string[],
  scores: readonly ComputedScore[],
  seen: ReadonlyMap<string, string | null> = new Map(),
): Promise<LatestWritten[]> {
  if (scores.length === 0) return [];
  const staleJson = JSON.stringify(stale);
  const r = await sql<{ customer_id: string; previous_health: number | null; previous_band: Band | null }>`
    WITH r AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset(${rowsJson(scores, seen)}::jsonb) AS ${RECORD_COLUMNS}
    ),
    history AS (
      INSERT INTO score_history (run_id, customer_id, scored_at, health, band, p_alive, expected_orders_90d, clv,
        rfm_r, rfm_f, rfm_m, rfm_segment, tier, newest_data_at)
      SELECT ${runId}::bigint, r.customer_id, ${scoredAt}::timestamptz, r.health, r.band, r.p_alive, r.expected_orders_90d, r.clv,
        r.rfm_r, r.rfm_f, r.rfm_m, r.rfm_segment, r.tier, r.newest_data_at
      FROM r
      ON CONFLICT (run_id, customer_id) DO UPDATE SET
        scored_at = excluded.scored_at, health = excluded.health, band = excluded.band, p_alive = excluded.p_alive,
        expected_orders_90d = excluded.expected_orders_90d, clv = excluded.clv, rfm_r = excluded.rfm_r, rfm_f = excluded.rfm_f,
        rfm_m = excluded.rfm_m, rfm_segment = excluded.rfm_segment, tier = excluded.tier, newest_data_at = excluded.newest_data_at
    )
    INSERT INTO customer_scores AS cs (customer_id, run_id, scored_at, health, band, p_alive, expected_orders_90d, clv,
      rfm_r, rfm_f, rfm_m, rfm_segment, tier, drivers, measures, stale, newest_data_at, previous_health, previous_band,
      churn_probability, churn_horizon_days, data_seen_at)
    SELECT r.customer_id, ${runId}::bigint, ${scoredAt}::timestamptz, r.health, r.band, r.p_alive, r.expected_orders_90d, r.clv,
      r.rfm_r, r.rfm_f, r.rfm_m, r.rfm_segment, r.tier, r.drivers, r.measures, ${staleJson}::jsonb, r.newest_data_at, NULL, NULL,
      r.churn_probability, r.churn_horizon_days, r.data_seen_at
    FROM r
    ON CONFLICT (customer_id) DO UPDATE SET
      previous_health = CASE WHEN cs.run_id = excluded.run_id THEN cs.previous_health ELSE cs.health END,
      previous_band = CASE WHEN cs.run_id = excluded.run_id THEN cs.previous_band ELSE cs.band END,
      run_id = excluded.run_id, scored_at = excluded.scored_at, health = excluded.health, band = excluded.band,
      p_alive = excluded.p_alive, expected_orders_90d = excluded.expected_orders_90d, clv = excluded.clv,
      rfm_r = excluded.rfm_r, rfm_f = excluded.rfm_f, rfm_m = excluded.rfm_m, rfm_segment = excluded.rfm_segment,
      tier = excluded.tier, drivers = excluded.drivers, measures = excluded.measures, stale = excluded.stale,
      newest_data_at = excluded.newest_data_at,
      churn_probability = excluded.churn_probability, churn_horizon_days = excluded.churn_horizon_days, data_seen_at = excluded.data_seen_at
    WHERE (cs.scored_at, cs.run_id) <= (excluded.scored_at, excluded.run_id)
    RETURNING cs.customer_id::text AS customer_id, cs.previous_health, cs.previous_band`.execute(db);
  return r.rows.map((row) => ({ customerId: row.customer_id, previousHealth: row.previous_health, previousBand: row.previous_band }));
}

// ---------------------------------------------------------------------------
// Summaries
// ---------------------------------------------------------------------------

export interface RunSummary {
  bands: Record<Band, number>;
  changedBand: number;
  firstScored: number;
}

export async function runSummary(db: DbOrTrx, runId: string): Promise<RunSummary> {
  const r = await sql<{ band: Band; n: number; changed: number; first: number }>`
    SELECT band, count(*)::int AS n,
      count(*) FILTER (WHERE previous_band IS NOT NULL AND previous_band <> band)::int AS changed,
      count(*) FILTER (WHERE previous_band IS NULL)::int AS first
    FROM customer_scores WHERE run_id = ${runId}
    GROUP BY band`.execute(db);
  const bands: Record<Band, number> = { green: 0, yellow: 0, red: 0 };
  let changedBand = 0;
  let firstScored = 0;
  for (const row of r.rows) {
    bands[row.band] = row.n;
    changedBand += row.changed;
    firstScored += row.first;
  }
  return { bands, changedBand, firstScored };
}

/** The latest scores this run wrote for these customers (a re-run batch hands them to the hooks again). */
export async function storedScores(db: DbOrTrx, runId: string, ids: readonly string[]): Promise<ScoredCustomer[]> {
  const rows = await db
    .selectFrom('customer_scores')
    .select(['customer_id', 'health', 'band', 'previous_health', 'previous_band', 'p_alive', 'tier', 'drivers', 'scored_at'])
    .where('run_id', '=', runId)
    .where('customer_id', 'in', ids.length ? [...ids] : ['0'])
    .execute();
  return rows.map((r) => ({
    customerId: String(r.customer_id),
    health: r.health,
    band: r.band,
    previousHealth: r.previous_health,
    previousBand: r.previous_band,
    pAlive: r.p_alive,
    tier: r.tier as Tier | null,
    drivers: (r.drivers ?? []) as StoredDriver[],
    scoredAt: new Date(r.scored_at),
  }));
}
