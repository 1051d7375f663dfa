import { sql, type Kysely } from 'kysely';

/**
 * Freshness: a change in data is scored by the next incremental run, and
 * nothing a run did not see is lost. Frozen in time: takes Kysely<any>,
 * imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // The customer's data_changed_at as the scoring batch read it, in the same
  // snapshot as the signals it scored: the score covers every change up to
  // it. A change committed after that read moves data_changed_at past it, so
  // the next incremental run picks the customer — however long the writing
  // transaction was open, and without rescoring anyone twice. Null on scores
  // written before this column existed.
  await sql`ALTER TABLE customer_scores ADD COLUMN data_seen_at timestamptz`.execute(db);

  // `retain status` and /metrics show the newest signal per source (csv, api,
  // segment, stripe): one index probe per source instead of a scan of every
  // signal. Signals of a source arrive in ingested_at order, so new entries
  // go to the right edge of the index.
  await sql`CREATE INDEX IF NOT EXISTS signals_source_ingested_idx ON signals (source, ingested_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS signals_source_ingested_idx`.execute(db);
  await sql`ALTER TABLE customer_scores DROP COLUMN IF EXISTS data_seen_at`.execute(db);
}
