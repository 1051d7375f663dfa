import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';

/**
 * Queries of the bulk CSV loads: session settings for one big transaction,
 * the initial-load index rebuild, statistics, and the staged signal merge.
 * Customers merge in customer-merge.repository.ts.
 */
export type GrownTable = 'customers' | 'customer_words' | 'signals';

/** Memory for the sorts and hashes of one load transaction (server side; this process holds only a chunk). */
export async function useBulkSettings(trx: DbOrTrx): Promise<void> {
  await sql`SELECT set_config('work_mem', '256MB', true), set_config('maintenance_work_mem', '512MB', true)`.execute(trx);
}

/** True when `table` holds fewer than `n` rows (reads at most n). */
export async function hasFewerRowsThan(trx: DbOrTrx, table: GrownTable, n: number): Promise<boolean> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM (SELECT 1 FROM ${sql.table(table)} LIMIT ${n}) AS x`.execute(trx);
  return Number(rows[0]!.n) < n;
}

export interface IndexDefinition {
  name: string;
  definition: string;
}

/**
 * Drop the indexes of `table` that back no constraint, returning their
 * definitions to build again with `createIndexes`. For a load that brings
 * most of a table's rows: building an index once over the loaded rows costs a
 * fraction of maintaining it row by row (like a restore). Holds an exclusive
 * lock on the table until the transaction ends.
 */
export async function dropSecondaryIndexes(trx: DbOrTrx, table: GrownTable): Promise<IndexDefinition[]> {
  const { rows } = await sql<IndexDefinition>`
    SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = ${table}::regclass AND NOT i.indisprimary AND NOT i.indisunique
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
    ORDER BY c.relname`.execute(trx);
  for (const r of rows) await sql`DROP INDEX ${sql.id(r.name)}`.execute(trx);
  return rows;
}

export async function createIndexes(trx: DbOrTrx, indexes: readonly IndexDefinition[]): Promise<void> {
  // Definitions come from pg_get_indexdef of indexes this transaction dropped.
  for (const ix of indexes) await sql.raw(ix.definition).execute(trx);
}

/**
 * Move the pending entries of the GIN indexes of `table` into the index
 * proper: a search reads the whole pending list, so a load leaves it empty.
 */
export async function flushGinPendingLists(trx: DbOrTrx, table: GrownTable): Promise<void> {
  await sql`
    SELECT gin_clean_pending_list(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
    WHERE i.indrelid = ${table}::regclass AND a.amname = 'gin'`.execute(trx);
}

/** Fresh planner statistics for tables a load grew, so the first lookups after it plan well. */
export async function analyzeTables(db: DbOrTrx, tables: readonly GrownTable[]): Promise<void> {
  await sql`ANALYZE ${sql.join(tables.map((t) => sql.table(t)))}`.execute(db);
}

// ───────────────────────── signals ─────────────────────────

export const EVENT_STAGE_COLUMNS = ['line', 'customer_external_id', 'kind', 'occurred_at', 'value', 'external_id', 'dedupe_key'] as const;

/**
 * A staging table reused chunk after chunk, and the set of customers the load
 * gave new signals (marked changed once, at the end). Both dropped at commit.
 */
export async function createEventStage(trx: DbOrTrx): Promise<void> {
  await sql`
    CREATE TEMP TABLE stage_events (
      line integer, customer_external_id text COLLATE "C", kind text, occurred_at timestamptz, value numeric(18, 4), external_id text, dedupe_key text
    ) ON COMMIT DROP`.execute(trx);
  await sql`CREATE TEMP TABLE stage_touched (customer_id bigint PRIMARY KEY) ON COMMIT DROP`.execute(trx);
}

/**
 * Merge the staged chunk into signals and empty the stage: rows of unknown
 * customers are returned by line (at most `maxUnknown`), the rest inserted in
 * index order, a signal already held left alone. The work depends on the
 * chunk, not on how many signals the table holds already.
 */
export async function mergeStagedEvents(
  trx: DbOrTrx,
  source: string,
  maxUnknown: number,
): Promise<{ inserted: number; matched: number; unknown: { line: number; customerExternalId: string }[] }> {
  const unknown = await sql<{ line: number; customer_external_id: string }>`
    SELECT s.line, s.customer_external_id FROM stage_events s
    WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.external_id = s.customer_external_id)
    ORDER BY s.line LIMIT ${maxUnknown}`.execute(trx);
  const { rows } = await sql<{ inserted: string; matched: string }>`
    WITH matched AS MATERIALIZED (
      SELECT c.id AS customer_id, s.kind, s.occurred_at, s.value, s.external_id, s.dedupe_key
      FROM stage_events s JOIN customers c ON c.external_id = s.customer_external_id
    ), ins AS (
      INSERT INTO signals (customer_id, kind, occurred_at, value, external_id, dedupe_key, source)
      SELECT customer_id, kind, occurred_at, value, external_id, dedupe_key, ${source} FROM matched
      ORDER BY customer_id, kind, occurred_at
      ON CONFLICT (customer_id, kind, occurred_at, dedupe_key) DO NOTHING
      RETURNING customer_id
    ), touched AS (
      INSERT INTO stage_touched (customer_id) SELECT DISTINCT customer_id FROM ins ON CONFLICT DO NOTHING
    )
    SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM matched) AS matched`.execute(trx);
  await sql`TRUNCATE stage_events`.execute(trx);
  return {
    inserted: Number(rows[0]!.inserted),
    matched: Number(rows[0]!.matched),
    unknown: unknown.rows.map((u) => ({ line: u.line, customerExternalId: u.customer_external_id })),
  };
}

/** Customers given new signals by the load are marked changed, for the incremental rescore. */
export async function markStagedCustomersChanged(trx: DbOrTrx): Promise<void> {
  await sql`UPDATE customers SET data_changed_at = now() WHERE id IN (SELECT customer_id FROM stage_touched)`.execute(trx);
}
