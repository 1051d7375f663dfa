import { sql, type RawBuilder } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { TierThresholds } from '../scoring/index.js';
import { utcDay } from './utc-day.sql.js';

/**
 * A run's population (run_population, or a backtest's bt_population): which
 * customers the run scores, in which batch, with their RFM quintiles and ABC
 * tier — ranked over the active base in one statement per run, or placed by
 * the last full run's ranking edges. Scratch rows, deleted when the run closes.
 *
 * Days are whole UTC days (floor(epoch / 86400)), as in scoring/purchases.ts.
 */

/** Where a population is written: a run's, or a backtest's temporary table. */
export type PopulationTable = 'run_population' | 'bt_population';

/**
 * Scores written before customer_scores.data_seen_at existed say only when
 * they were scored: for those, a change up to this long before the score
 * counts as unseen (a write whose transaction began before the run but
 * committed after it).
 */
export const LEGACY_CHANGE_MARGIN_MINUTES = 15;
export type Selection = 'all' | 'changed' | 'base';

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

/**
 * Customers with data their score did not cover, or never scored.
 * data_changed_at is bumped by every import, ingest, log and feedback, in the
 * writer's transaction; a batch stores the value it read (data_seen_at) in the
 * same snapshot as the signals it scored. A change committed after that read
 * — even one whose transaction began long before the run — leaves
 * data_changed_at past data_seen_at, so the next run picks the customer, and
 * a change the batch did see is not rescored again. A change stamped after
 * the score's as-of counts too: its signals may postdate the as-of the batch
 * scored at, and writers stamping with the app's clock can land behind a
 * stamp from the database's.
 */
export function changedCustomers(): RawBuilder<unknown> {
  return sql`
    SELECT c.id, c.data_changed_at, s.customer_id IS NULL AS never_scored
    FROM customers c
    LEFT JOIN customer_scores s ON s.customer_id = c.id
    WHERE s.customer_id IS NULL
       OR c.data_changed_at > CASE
            WHEN s.data_seen_at IS NULL THEN s.scored_at - make_interval(mins => ${LEGACY_CHANGE_MARGIN_MINUTES}::int)
            ELSE least(s.data_seen_at, s.scored_at)
          END`;
}

/** Whether any customer has data its score does not cover (or was never scored). */
export async function hasChangedCustomers(db: DbOrTrx): Promise<boolean> {
  const r = await sql<{ any: boolean }>`SELECT EXISTS (${changedCustomers()}) AS any`.execute(db);
  return r.rows[0]?.any === true;
}

function selection(kind: Selection): RawBuilder<unknown> {
  switch (kind) {
    case 'all':
      return sql`SELECT id FROM customers`;
    case 'changed':
      return sql`SELECT id FROM (${changedCustomers()}) changed`;
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
  opts: { runId: string; asOf: Date; select: Selection; batchSize: number; tiers: TierThresholds; table?: PopulationTable },
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
 *
 * The changed customers are picked by one statement and handed to the next
 * as an array: within one statement the planner cannot tell how few pass the
 * change test, plans every later step for the whole book (hash joins over
 * all customers, JIT compilation) and spends seconds where index probes take
 * milliseconds.
 */
export async function writePopulationFromCuts(
  db: DbOrTrx,
  opts: { runId: string; asOf: Date; batchSize: number; cuts: PopulationCuts },
): Promise<{ customers: number; batches: number }> {
  const asOf = opts.asOf;
  const { cuts } = opts;
  const quintile = (col: RawBuilder<unknown>, edges: (number | null)[]) =>
    sql`(1 + ${sql.join(
      edges.map((e) => (e === null ? sql`0` : sql`(${col} >= ${e}::numeric)::int`)),
      sql` + `,
    )})::smallint`;
  // The estimates through these CTEs would otherwise switch JIT compilation on.
  await sql`SET LOCAL jit = off`.execute(db);
  const changed = await sql<{ ids: string[] | null }>`SELECT array_agg(id::text ORDER BY id) AS ids FROM (${changedCustomers()}) x`.execute(db);
  const ids = changed.rows[0]?.ids ?? [];
  if (ids.length === 0) return { customers: 0, batches: 0 };
  const r = await sql<{ customers: number; batches: number }>`
    WITH selected AS MATERIALIZED (SELECT unnest(${ids}::bigint[]) AS id),
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
  table: PopulationTable = 'run_population',
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
