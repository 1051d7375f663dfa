import { sql, type RawBuilder } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { Quintile, TierThresholds, ValueTier } from '../scoring/index.js';
import type { CustomerFacts } from './score.rules.js';
import type { ComputedScore } from './score.rules.js';
import type { Band, Tier } from './score.table.js';

/**
 * Every query of a scoring run. Bulk work is set-based (STYLE.md): one
 * statement per run for the population, one aggregate statement per batch,
 * one write statement per table per batch.
 *
 * Days are whole UTC days (floor(epoch / 86400)), as in scoring/purchases.ts.
 */

export type RunKind = 'full' | 'incremental' | 'backtest';

/** An incremental run rescores customers whose data changed up to this long before their last score (see `selection`). */
export const CHANGE_MARGIN_MINUTES = 15;
export type Selection = 'all' | 'changed' | 'base';

export interface RunRow {
  id: string;
  kind: RunKind;
  as_of: Date;
  status: 'running' | 'done' | 'failed';
  batches_total: number;
  batches_done: number;
  batches_failed: number;
  customers_scored: number;
  started_at: Date;
  finished_at: Date | null;
  job_key: string | null;
  context: Record<string, unknown>;
}

// ---------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------

/** Opens a run, or returns the run already opened by the same job (a re-run of the `rescore` job). */
export async function openRun(db: DbOrTrx, kind: RunKind, asOf: Date, jobKey: string | null): Promise<{ run: RunRow; created: boolean }> {
  if (jobKey) {
    const existing = await findRunByJobKey(db, jobKey);
    if (existing) return { run: existing, created: false };
  }
  const inserted = await sql<RunRow>`
    INSERT INTO scoring_runs (kind, as_of, status, job_key, started_at)
    VALUES (${kind}, ${asOf}, 'running', ${jobKey}, now())
    ON CONFLICT (job_key) WHERE job_key IS NOT NULL DO NOTHING
    RETURNING *`.execute(db);
  if (inserted.rows[0]) return { run: normalizeRun(inserted.rows[0]), created: true };
  const raced = jobKey ? await findRunByJobKey(db, jobKey) : undefined;
  if (!raced) throw new Error('could not open a scoring run');
  return { run: raced, created: false };
}

export async function findRunByJobKey(db: DbOrTrx, jobKey: string): Promise<RunRow | undefined> {
  const r = await sql<RunRow>`SELECT * FROM scoring_runs WHERE job_key = ${jobKey}`.execute(db);
  return r.rows[0] ? normalizeRun(r.rows[0]) : undefined;
}

export async function getRun(db: DbOrTrx, runId: string): Promise<RunRow | undefined> {
  const r = await sql<RunRow>`SELECT * FROM scoring_runs WHERE id = ${runId}`.execute(db);
  return r.rows[0] ? normalizeRun(r.rows[0]) : undefined;
}

function normalizeRun(r: RunRow): RunRow {
  return { ...r, id: String(r.id), as_of: new Date(r.as_of), started_at: new Date(r.started_at), finished_at: r.finished_at ? new Date(r.finished_at) : null };
}

/** Locks the run row for the rest of the transaction; returns it as it is now. */
export async function lockRun(db: DbOrTrx, runId: string): Promise<RunRow | undefined> {
  const r = await sql<RunRow>`SELECT * FROM scoring_runs WHERE id = ${runId} FOR UPDATE`.execute(db);
  return r.rows[0] ? normalizeRun(r.rows[0]) : undefined;
}

/** Records what the batches share, how many batches there are; a run with nothing to score is done at once. */
export async function markRunPrepared(db: DbOrTrx, runId: string, batchesTotal: number, context: Record<string, unknown>): Promise<void> {
  await sql`
    UPDATE scoring_runs
    SET batches_total = ${batchesTotal},
        context = ${JSON.stringify(context)}::jsonb,
        status = CASE WHEN ${batchesTotal}::int = 0 THEN 'done' ELSE status END,
        finished_at = CASE WHEN ${batchesTotal}::int = 0 THEN now() ELSE finished_at END
    WHERE id = ${runId}`.execute(db);
}

export async function failRun(db: DbOrTrx, runId: string, error: string): Promise<void> {
  await sql`UPDATE scoring_runs SET status = 'failed', error = ${error.slice(0, 2000)}, finished_at = now() WHERE id = ${runId} AND status = 'running'`.execute(db);
}

export interface BatchFinish {
  /** False when this batch had already been counted (a re-run). */
  counted: boolean;
  /** True when this batch was the last one and closed the run. */
  closedRun: boolean;
  status: 'running' | 'done' | 'failed' | null;
}

/**
 * Counts a batch towards its run once (the marker row is the proof), and
 * closes the run when it was the last batch. Runs in the batch's transaction.
 */
export async function finishBatch(
  db: DbOrTrx,
  runId: string,
  batch: number,
  outcome: { status: 'done'; customersScored: number } | { status: 'failed'; error: string },
): Promise<BatchFinish> {
  const scored = outcome.status === 'done' ? outcome.customersScored : 0;
  const error = outcome.status === 'failed' ? outcome.error.slice(0, 2000) : null;
  const failed = outcome.status === 'failed' ? 1 : 0;
  const r = await sql<{ status: 'running' | 'done' | 'failed'; closed: boolean }>`
    WITH marker AS (
      INSERT INTO scoring_run_batches (run_id, batch, status, customers_scored, error)
      VALUES (${runId}, ${batch}, ${outcome.status}, ${scored}, ${error})
      ON CONFLICT (run_id, batch) DO NOTHING
      RETURNING 1
    )
    UPDATE scoring_runs
    SET batches_done = batches_done + 1,
        batches_failed = batches_failed + ${failed}::int,
        customers_scored = customers_scored + ${scored}::int,
        status = CASE WHEN status = 'running' AND batches_done + 1 >= batches_total THEN 'done' ELSE status END,
        finished_at = CASE WHEN status = 'running' AND batches_done + 1 >= batches_total THEN now() ELSE finished_at END
    WHERE id = ${runId} AND EXISTS (SELECT 1 FROM marker)
    RETURNING status, (batches_done = batches_total) AS closed`.execute(db);
  const row = r.rows[0];
  if (!row) return { counted: false, closedRun: false, status: null };
  return { counted: true, closedRun: row.closed, status: row.status };
}

export async function deletePopulation(db: DbOrTrx, runId: string): Promise<void> {
  await sql`DELETE FROM run_population WHERE run_id = ${runId}`.execute(db);
}

/** Scratch rows of runs that are no longer running (a crash between close and cleanup). */
export async function deleteOrphanPopulations(db: DbOrTrx): Promise<void> {
  await sql`
    DELETE FROM run_population p
    WHERE p.run_id IN (SELECT DISTINCT run_id FROM run_population)
      AND NOT EXISTS (SELECT 1 FROM scoring_runs r WHERE r.id = p.run_id AND r.status = 'running')`.execute(db);
}

// ---------------------------------------------------------------------------
// Feeds (per signal kind, book-wide)
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Population: RFM quintiles and ABC tiers over the active base, once per run
// ---------------------------------------------------------------------------

/**
 * The whole UTC day of a timestamp as days since the epoch — floor(epoch /
 * 86400), computed as a date difference: integer arithmetic instead of the
 * numeric division `extract(epoch …)` implies (several times faster over the
 * millions of orders the population ranks).
 */
function utcDay(col: string): RawBuilder<number> {
  return sql<number>`((${sql.ref(col)} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')`;
}

/** Customers active at as-of: not churned on or before it, and known by then. */
function activeBase(asOf: Date): RawBuilder<unknown> {
  return sql`
    SELECT c.id, c.arr
    FROM customers c
    WHERE NOT (c.status = 'churned' AND coalesce(c.churned_at, '-infinity'::timestamptz) <= ${asOf}::timestamptz)
      AND (c.created_at <= ${asOf}::timestamptz
           OR EXISTS (SELECT 1 FROM signals s WHERE s.customer_id = c.id AND s.occurred_at <= ${asOf}::timestamptz))`;
}

/**
 * Per customer, in one pass over their orders to as-of: last purchase day,
 * distinct purchase days and spend in the 365 days to as-of (same-day orders
 * are one purchase) — what RFM ranks.
 */
function purchaseSummary(asOf: Date, customers: RawBuilder<unknown>): RawBuilder<unknown> {
  const asOfDay = Math.floor(asOf.getTime() / 86_400_000);
  return sql`
    SELECT s.customer_id,
      max(${utcDay('s.occurred_at')}) AS last_day,
      count(DISTINCT ${utcDay('s.occurred_at')})
        FILTER (WHERE ${utcDay('s.occurred_at')} > ${asOfDay}::int - 365) AS freq,
      coalesce(sum(coalesce(s.value, 0)) FILTER (WHERE ${utcDay('s.occurred_at')} > ${asOfDay}::int - 365), 0) AS monetary
    FROM signals s
    WHERE ${customers} AND s.kind = 'order' AND s.occurred_at <= ${asOf}::timestamptz
    GROUP BY s.customer_id`;
}

function selection(kind: Selection): RawBuilder<unknown> {
  switch (kind) {
    case 'all':
      return sql`SELECT id FROM customers`;
    case 'changed':
      // Changed since their last score (data_changed_at is bumped by every
      // import, ingest, log and feedback), or never scored. The margin covers
      // writes whose transaction began before the last run but committed after
      // its snapshot: their data_changed_at predates the score they missed.
      return sql`
        SELECT c.id FROM customers c
        LEFT JOIN customer_scores s ON s.customer_id = c.id
        WHERE s.customer_id IS NULL OR c.data_changed_at > s.scored_at - make_interval(mins => ${CHANGE_MARGIN_MINUTES}::int)`;
    case 'base':
      return sql`SELECT id FROM base`;
  }
}

/**
 * Writes the run's population rows — one per selected customer, with its
 * batch number, RFM quintiles (when active with orders) and tier (when
 * active) — and returns how many customers and batches there are.
 *
 * Quintiles follow scoring/rfm.ts exactly: mid-ranks for ties, score
 * 1 + ⌊5 · (midRank + ½) / n⌋, recency by last purchase day, frequency =
 * purchase days and monetary = spend in the last 365 days. Tiers follow
 * scoring/tiers.ts: value = ARR, or 12-month spend where there is no ARR;
 * sorted by value (desc) then id; A while the value before the account is
 * under the A share of the total, B under the B share, else C.
 */
export async function writePopulation(
  db: DbOrTrx,
  opts: { runId: string; asOf: Date; select: Selection; batchSize: number; tiers: TierThresholds; table?: 'run_population' | 'bt_population' },
): Promise<{ customers: number; batches: number; cuts: PopulationCuts | null }> {
  const table = sql.table(opts.table ?? 'run_population');
  const asOf = opts.asOf;
  // One statement ranks the whole base (hash aggregates and sorts of one row
  // per customer): with the default 4 MB they spill to disk. Local to the
  // caller's transaction.
  await sql`SET LOCAL work_mem = '256MB'`.execute(db);
  // The planner's row estimates through these CTEs are wildly high (billions
  // of rows), which switches on JIT compilation: about a second of compiling
  // for a statement that runs in a few. Off for this statement's transaction.
  await sql`SET LOCAL jit = off`.execute(db);
  const r = await sql<{
    customers: number;
    batches: number;
    rfm_cuts: { r: (number | null)[]; f: (number | null)[]; m: (number | null)[]; n: number } | null;
    tier_cuts: { a: number | null; b: number | null } | null;
  }>`
    WITH base AS MATERIALIZED (${activeBase(asOf)}),
    purchases AS (${purchaseSummary(asOf, sql`true`)}),
    rfm_base AS (
      SELECT b.id, p.last_day, p.freq, p.monetary FROM base b JOIN purchases p ON p.customer_id = b.id
    ),
    rfm_ranked AS (
      -- count(*) over the default frame (RANGE UNBOUNDED PRECEDING to the
      -- current row and its peers) counts the rows up to the last tie; with
      -- the same window as rank() both come from one pass per ordering.
      SELECT id, count(*) OVER () AS n,
        (rank() OVER (ORDER BY last_day) - 1 + count(*) OVER (ORDER BY last_day) - 1) / 2.0 AS r_mid,
        (rank() OVER (ORDER BY freq) - 1 + count(*) OVER (ORDER BY freq) - 1) / 2.0 AS f_mid,
        (rank() OVER (ORDER BY monetary) - 1 + count(*) OVER (ORDER BY monetary) - 1) / 2.0 AS m_mid
      FROM rfm_base
    ),
    rfm AS (
      SELECT id,
        least(5, 1 + floor((5 * (r_mid + 0.5))::float8 / n))::smallint AS r,
        least(5, 1 + floor((5 * (f_mid + 0.5))::float8 / n))::smallint AS f,
        least(5, 1 + floor((5 * (m_mid + 0.5))::float8 / n))::smallint AS m
      FROM rfm_ranked
    ),
    valued AS (
      SELECT b.id, CASE WHEN b.arr > 0 THEN b.arr ELSE coalesce(p.monetary, 0) END AS value
      FROM base b LEFT JOIN purchases p ON p.customer_id = b.id
    ),
    tiers AS (
      SELECT id, value,
        coalesce(sum(value) OVER (ORDER BY value DESC, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
        sum(value) OVER () AS total
      FROM valued
      WHERE value > 0
    ),
    tiered AS (
      SELECT id, value,
        CASE
          WHEN before < ${opts.tiers.a}::numeric * total - total * 1e-12 THEN 'A'
          WHEN before < ${opts.tiers.b}::numeric * total - total * 1e-12 THEN 'B'
          ELSE 'C'
        END AS tier
      FROM tiers
    ),
    selected AS (${selection(opts.select)}),
    inserted AS (
      INSERT INTO ${table} (run_id, customer_id, batch, rfm_r, rfm_f, rfm_m, tier)
      SELECT ${opts.runId}::bigint, sel.id,
        ((row_number() OVER (ORDER BY sel.id) - 1) / ${opts.batchSize}::int)::int,
        rfm.r, rfm.f, rfm.m,
        CASE WHEN b.id IS NULL THEN NULL ELSE coalesce(t.tier, 'C') END
      FROM selected sel
      LEFT JOIN base b ON b.id = sel.id
      LEFT JOIN rfm ON rfm.id = sel.id
      LEFT JOIN tiered t ON t.id = sel.id
      RETURNING batch
    )
    SELECT count(*)::int AS customers, coalesce(max(batch) + 1, 0)::int AS batches,
      -- Where the ranking put its edges, so an incremental run can place a
      -- changed customer without ranking the whole base again.
      (SELECT json_build_object(
         'r', json_build_array(${sql.join([2, 3, 4, 5].map((q) => sql`min(rb.last_day) FILTER (WHERE rfm.r >= ${q}::int)`))}),
         'f', json_build_array(${sql.join([2, 3, 4, 5].map((q) => sql`min(rb.freq) FILTER (WHERE rfm.f >= ${q}::int)`))}),
         'm', json_build_array(${sql.join([2, 3, 4, 5].map((q) => sql`min(rb.monetary) FILTER (WHERE rfm.m >= ${q}::int)`))}),
         'n', count(*))
       FROM rfm JOIN rfm_base rb ON rb.id = rfm.id) AS rfm_cuts,
      (SELECT json_build_object('a', min(value) FILTER (WHERE tier = 'A'), 'b', min(value) FILTER (WHERE tier = 'B')) FROM tiered) AS tier_cuts
    FROM inserted`.execute(db);
  const row = r.rows[0];
  if (!row) return { customers: 0, batches: 0, cuts: null };
  return { customers: row.customers, batches: row.batches, cuts: toCuts(row.rfm_cuts, row.tier_cuts) };
}

/**
 * The edges of a whole-base ranking: for each RFM dimension the smallest
 * value that scored 2, 3, 4 and 5 (null where no one did), and the smallest
 * value in tiers A and B. A customer's quintile is then 1 + the edges its
 * value reaches — exactly the mid-rank quintile for every value the ranking
 * saw, and its neighbours' for new ones — and its tier the highest whose
 * edge it reaches (ties at an edge go up).
 */
export interface PopulationCuts {
  r: (number | null)[];
  f: (number | null)[];
  m: (number | null)[];
  /** Customers ranked for RFM. */
  n: number;
  tierA: number | null;
  tierB: number | null;
}

function toCuts(
  rfm: { r: (number | string | null)[]; f: (number | string | null)[]; m: (number | string | null)[]; n: number } | null,
  tiers: { a: number | string | null; b: number | string | null } | null,
): PopulationCuts | null {
  if (!rfm || !tiers) return null;
  const num = (v: number | string | null) => (v === null ? null : Number(v));
  return { r: rfm.r.map(num), f: rfm.f.map(num), m: rfm.m.map(num), n: Number(rfm.n), tierA: num(tiers.a), tierB: num(tiers.b) };
}

/**
 * The ranking edges of the newest finished full run at or before as-of, if
 * it ranked anyone (tier settings are the run's own: a changed config waits
 * for the next full run).
 */
export async function latestFullRunCuts(db: DbOrTrx, asOf: Date): Promise<{ runId: string; cuts: PopulationCuts } | null> {
  const r = await sql<{ id: string; cuts: PopulationCuts | null }>`
    SELECT id::text AS id, context->'population' AS cuts FROM scoring_runs
    WHERE kind = 'full' AND status = 'done' AND as_of <= ${asOf}::timestamptz AND context ? 'population'
    ORDER BY as_of DESC, id DESC LIMIT 1`.execute(db);
  const row = r.rows[0];
  if (!row?.cuts || !(row.cuts.n > 0)) return null;
  return { runId: row.id, cuts: row.cuts };
}

/**
 * An incremental run's population: only the selected (changed) customers'
 * orders are read, and each is placed by the last full run's edges (see
 * PopulationCuts) instead of ranking the whole base again — a few thousand
 * index probes instead of a pass over every order in the book.
 */
export async function writePopulationFromCuts(
  db: DbOrTrx,
  opts: { runId: string; asOf: Date; batchSize: number; cuts: PopulationCuts },
): Promise<{ customers: number; batches: number }> {
  const asOf = opts.asOf;
  const { cuts } = opts;
  const quintile = (col: RawBuilder<unknown>, edges: (number | null)[]) =>
    sql`(1 + ${sql.join(edges.map((e) => (e === null ? sql`0` : sql`(${col} >= ${e}::numeric)::int`)), sql` + `)})::smallint`;
  const r = await sql<{ customers: number; batches: number }>`
    WITH selected AS MATERIALIZED (${selection('changed')}),
    base AS MATERIALIZED (
      SELECT a.id, a.arr FROM (${activeBase(asOf)}) a JOIN selected s ON s.id = a.id
    ),
    purchases AS (${purchaseSummary(asOf, sql`s.customer_id IN (SELECT id FROM base)`)}),
    inserted AS (
      INSERT INTO run_population (run_id, customer_id, batch, rfm_r, rfm_f, rfm_m, tier)
      SELECT ${opts.runId}::bigint, sel.id,
        ((row_number() OVER (ORDER BY sel.id) - 1) / ${opts.batchSize}::int)::int,
        CASE WHEN b.id IS NOT NULL AND p.customer_id IS NOT NULL THEN ${quintile(sql`p.last_day`, cuts.r)} END,
        CASE WHEN b.id IS NOT NULL AND p.customer_id IS NOT NULL THEN ${quintile(sql`p.freq`, cuts.f)} END,
        CASE WHEN b.id IS NOT NULL AND p.customer_id IS NOT NULL THEN ${quintile(sql`p.monetary`, cuts.m)} END,
        CASE
          WHEN b.id IS NULL THEN NULL
          WHEN v.value <= 0 THEN 'C'
          WHEN ${cuts.tierA}::numeric IS NOT NULL AND v.value >= ${cuts.tierA}::numeric THEN 'A'
          WHEN ${cuts.tierB}::numeric IS NOT NULL AND v.value >= ${cuts.tierB}::numeric THEN 'B'
          ELSE 'C'
        END
      FROM selected sel
      LEFT JOIN base b ON b.id = sel.id
      LEFT JOIN purchases p ON p.customer_id = sel.id
      LEFT JOIN LATERAL (SELECT CASE WHEN b.arr > 0 THEN b.arr ELSE coalesce(p.monetary, 0) END AS value) v ON true
      RETURNING batch
    )
    SELECT count(*)::int AS customers, coalesce(max(batch) + 1, 0)::int AS batches FROM inserted`.execute(db);
  return r.rows[0] ?? { customers: 0, batches: 0 };
}

/** Customer ids per batch for batches [from, to) (or just the listed ones), in id order. */
export async function batchCustomerIds(
  db: DbOrTrx,
  runId: string,
  from: number,
  to: number,
  table: 'run_population' | 'bt_population' = 'run_population',
  only?: readonly number[],
): Promise<{ batch: number; ids: string[] }[]> {
  const r = await sql<{ batch: number; ids: string[] }>`
    SELECT batch, array_agg(customer_id::text ORDER BY customer_id) AS ids
    FROM ${sql.table(table)}
    WHERE run_id = ${runId} AND batch >= ${from} AND batch < ${to}
      ${only ? sql`AND batch = ANY(${[...only]}::int[])` : sql``}
    GROUP BY batch ORDER BY batch`.execute(db);
  return r.rows;
}

/** Runs still open: the watchdog's rounds. When each last moved (prepared, or a batch finished). */
export async function openRuns(db: DbOrTrx): Promise<(RunRow & { last_progress_at: Date })[]> {
  const r = await sql<RunRow & { last_progress_at: Date }>`
    SELECT r.*, greatest(r.started_at, (r.context->>'preparedAt')::timestamptz,
                         (SELECT max(b.finished_at) FROM scoring_run_batches b WHERE b.run_id = r.id)) AS last_progress_at
    FROM scoring_runs r
    WHERE r.status = 'running' AND r.kind <> 'backtest'
    ORDER BY r.id`.execute(db);
  return r.rows.map((row) => ({ ...normalizeRun(row), last_progress_at: new Date(row.last_progress_at) }));
}

/** Batches of a prepared run not counted yet. */
export async function unfinishedBatches(db: DbOrTrx, runId: string, batchesTotal: number): Promise<number[]> {
  const r = await sql<{ batch: number }>`
    SELECT g::int AS batch FROM generate_series(0, ${batchesTotal}::int - 1) AS g
    WHERE NOT EXISTS (SELECT 1 FROM scoring_run_batches b WHERE b.run_id = ${runId} AND b.batch = g)
    ORDER BY 1`.execute(db);
  return r.rows.map((x) => x.batch);
}

// ---------------------------------------------------------------------------
// The batch aggregate: everything a score needs, for a batch of customers, in one statement
// ---------------------------------------------------------------------------

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
}

/**
 * One statement per batch: signals (purchase-day summary with same-day
 * orders merged, usage windows, complaint ages, payment failures, latest NPS,
 * newest signal), feedback (sentiment in 90 days, complaint ages), the last
 * interaction and the run's population row, for every customer of the batch.
 */
export async function aggregateBatch(
  db: DbOrTrx,
  opts: { runId: string; batch: number; customerIds: readonly string[]; asOf: Date; table?: 'run_population' | 'bt_population' },
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
  const inBatch = (col: string) =>
    dense ? sql`${sql.ref(col)} BETWEEN ${lo} AND ${hi}` : sql`${sql.ref(col)} = ANY(${ids}::bigint[])`;
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
      p.rfm_r, p.rfm_f, p.rfm_m, p.tier
    FROM ids
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
      row.rfm_r !== null && row.rfm_f !== null && row.rfm_m !== null
        ? { r: row.rfm_r as Quintile, f: row.rfm_f as Quintile, m: row.rfm_m as Quintile }
        : null,
    tier: row.tier,
  };
}

// ---------------------------------------------------------------------------
// Writes: one statement per table per batch
// ---------------------------------------------------------------------------

function rowsJson(scores: readonly ComputedScore[]): string {
  return JSON.stringify(
    scores.map((s) => ({
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
    })),
  );
}

const RECORD_COLUMNS = sql`r(customer_id bigint, health smallint, band text, p_alive float8, expected_orders_90d float8, clv numeric,
  rfm_r smallint, rfm_f smallint, rfm_m smallint, rfm_segment text, tier text, drivers jsonb, measures jsonb, newest_data_at timestamptz)`;

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
 * (the customers whose current score is now this run's).
 */
export async function writeScores(db: DbOrTrx, runId: string, scoredAt: Date, stale: readonly string[], scores: readonly ComputedScore[]): Promise<LatestWritten[]> {
  if (scores.length === 0) return [];
  const staleJson = JSON.stringify(stale);
  const r = await sql<{ customer_id: string; previous_health: number | null; previous_band: Band | null }>`
    WITH r AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset(${rowsJson(scores)}::jsonb) AS ${RECORD_COLUMNS}
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
      rfm_r, rfm_f, rfm_m, rfm_segment, tier, drivers, measures, stale, newest_data_at, previous_health, previous_band)
    SELECT r.customer_id, ${runId}::bigint, ${scoredAt}::timestamptz, r.health, r.band, r.p_alive, r.expected_orders_90d, r.clv,
      r.rfm_r, r.rfm_f, r.rfm_m, r.rfm_segment, r.tier, r.drivers, r.measures, ${staleJson}::jsonb, r.newest_data_at, NULL, NULL
    FROM r
    ON CONFLICT (customer_id) DO UPDATE SET
      previous_health = CASE WHEN cs.run_id = excluded.run_id THEN cs.previous_health ELSE cs.health END,
      previous_band = CASE WHEN cs.run_id = excluded.run_id THEN cs.previous_band ELSE cs.band END,
      run_id = excluded.run_id, scored_at = excluded.scored_at, health = excluded.health, band = excluded.band,
      p_alive = excluded.p_alive, expected_orders_90d = excluded.expected_orders_90d, clv = excluded.clv,
      rfm_r = excluded.rfm_r, rfm_f = excluded.rfm_f, rfm_m = excluded.rfm_m, rfm_segment = excluded.rfm_segment,
      tier = excluded.tier, drivers = excluded.drivers, measures = excluded.measures, stale = excluded.stale,
      newest_data_at = excluded.newest_data_at
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

export type { Tier };
