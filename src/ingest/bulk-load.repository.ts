import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';

/**
 * Queries of the bulk CSV loads: session settings for one big transaction,
 * the initial-load index rebuild, statistics, and the staged signal merge.
 * Customers merge in customer-merge.repository.ts.
 */
export type GrownTable = 'customers' | 'customer_words' | 'signals';

/**
 * Settings for one load transaction: memory for its sorts, hashes and index
 * builds (server side; this process holds only a chunk), and room for GIN
 * entries to gather in the pending list and go into the index in a few large
 * sorted batches rather than row by row (the load flushes the list at its end).
 */
export async function useBulkSettings(trx: DbOrTrx): Promise<void> {
  await sql`
    SELECT set_config('work_mem', '256MB', true), set_config('maintenance_work_mem', '512MB', true),
           set_config('gin_pending_list_limit', '262144', true)`.execute(trx);
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
 * Drop the btree indexes of `table` that back no constraint, returning their
 * definitions to build again with `createIndexes`. For a load that brings
 * most of a table's rows: building a btree once over the loaded rows costs a
 * fraction of inserting into it row by row in random key order (like a
 * restore). GIN indexes stay: their pending list batches the inserts already.
 * Holds an exclusive lock on the table until the transaction ends.
 */
export async function dropBtreeIndexes(trx: DbOrTrx, table: GrownTable): Promise<IndexDefinition[]> {
  const { rows } = await sql<IndexDefinition>`
    SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
    WHERE i.indrelid = ${table}::regclass AND a.amname = 'btree' AND NOT i.indisprimary AND NOT i.indisunique
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
 * the order of the signal indexes, a signal already held left alone. Sorted,
 * a chunk's inserts walk each index once instead of landing on random pages,
 * so their cost per row stays flat as the table grows past memory.
 */
export async function mergeStagedEvents(
  trx: DbOrTrx,
  source: string,
  maxUnknown: number,
): Promise<{ inserted: number; matched: number; unknown: { line: number; customerExternalId: string }[] }> {
  const { rows } = await sql<{ inserted: string; matched: string; unknown: { line: number; customer_external_id: string }[] | null }>`
    WITH resolved AS MATERIALIZED (
      SELECT s.line, s.customer_external_id, s.kind, s.occurred_at, s.value, s.external_id, s.dedupe_key, c.id AS customer_id
      FROM stage_events s LEFT JOIN customers c ON c.external_id = s.customer_external_id
    ), ins AS (
      INSERT INTO signals (customer_id, kind, occurred_at, value, external_id, dedupe_key, source)
      SELECT customer_id, kind, occurred_at, value, external_id, dedupe_key, ${source} FROM resolved
      WHERE customer_id IS NOT NULL
      ORDER BY customer_id, kind, occurred_at
      ON CONFLICT (customer_id, kind, occurred_at, dedupe_key) DO NOTHING
      RETURNING customer_id
    ), touched AS (
      INSERT INTO stage_touched (customer_id) SELECT DISTINCT customer_id FROM ins ON CONFLICT DO NOTHING
    )
    SELECT (SELECT count(*) FROM ins) AS inserted,
           (SELECT count(*) FROM resolved WHERE customer_id IS NOT NULL) AS matched,
           (SELECT json_agg(u ORDER BY u.line) FROM (
              SELECT line, customer_external_id FROM resolved WHERE customer_id IS NULL ORDER BY line LIMIT ${maxUnknown}
            ) u) AS unknown`.execute(trx);
  await sql`TRUNCATE stage_events`.execute(trx);
  return {
    inserted: Number(rows[0]!.inserted),
    matched: Number(rows[0]!.matched),
    unknown: (rows[0]!.unknown ?? []).map((u) => ({ line: u.line, customerExternalId: u.customer_external_id })),
  };
}

/** Customers given new signals by the load are marked changed, for the incremental rescore. */
export async function markStagedCustomersChanged(trx: DbOrTrx): Promise<void> {
  // In id order, which is mostly the table's physical order: each page is read and dirtied once.
  // clock_timestamp(), not now(): the stamp must follow any change a scoring batch read while this import ran.
  await sql`
    UPDATE customers c SET data_changed_at = clock_timestamp()
    FROM (SELECT customer_id FROM stage_touched ORDER BY customer_id) t WHERE c.id = t.customer_id`.execute(trx);
}
