import { sql, type Kysely } from 'kysely';

/**
 * Scoring runs as fanned-out batches. Frozen in time: takes
 * Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // job_key: the BullMQ id of the `rescore` job that opened the run, so a
  // re-run of that job reuses its run instead of opening a second one.
  // context: what every batch of the run shares (model parameters, stale
  // feeds, which feeds exist) — computed once per run.
  await sql`
    ALTER TABLE scoring_runs
      ADD COLUMN job_key text,
      ADD COLUMN context jsonb NOT NULL DEFAULT '{}'::jsonb,
      ADD COLUMN batches_failed integer NOT NULL DEFAULT 0,
      ADD COLUMN error text`.execute(db);
  await sql`CREATE UNIQUE INDEX scoring_runs_job_key_idx ON scoring_runs (job_key) WHERE job_key IS NOT NULL`.execute(db);
  await sql`CREATE INDEX scoring_runs_kind_started_idx ON scoring_runs (kind, started_at)`.execute(db);

  // One row per finished batch: a batch that runs twice counts once towards
  // batches_done, and the batch that finishes last closes the run.
  await sql`
    CREATE TABLE scoring_run_batches (
      run_id bigint NOT NULL REFERENCES scoring_runs(id) ON DELETE CASCADE,
      batch integer NOT NULL,
      status text NOT NULL CHECK (status IN ('done', 'failed')),
      customers_scored integer NOT NULL DEFAULT 0,
      error text,
      finished_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (run_id, batch)
    )`.execute(db);

  // The population-level part of a run (RFM quintiles over the active base,
  // ABC tiers by cumulative value share), computed once per run in SQL for the
  // customers the run scores, with their batch number. Scratch data: unlogged,
  // and deleted when the run closes.
  await sql`
    CREATE UNLOGGED TABLE run_population (
      run_id bigint NOT NULL,
      customer_id bigint NOT NULL,
      batch integer NOT NULL,
      rfm_r smallint,
      rfm_f smallint,
      rfm_m smallint,
      tier text
    )`.execute(db);
  // Batches read their rows by (run, batch); the prepare step that writes
  // them runs once per run, under a lock on the run row.
  await sql`CREATE INDEX run_population_batch_idx ON run_population (run_id, batch)`.execute(db);

  // Feed freshness per signal kind (last arrival, typical gap) without a scan
  // of the whole signal table: a few index probes per kind and run.
  await sql`CREATE INDEX signals_kind_time_idx ON signals (kind, occurred_at)`.execute(db);

  // A scoring batch reads every signal of a range of customers. Signals
  // arrive in time order, so one customer's rows are spread over the whole
  // heap: covering the customer index with kind and value lets the batch read
  // a contiguous stretch of the index instead (index-only scan), ~2× faster
  // per batch. It replaces the plain (customer_id, occurred_at) index, whose
  // queries it serves as well.
  await sql`CREATE INDEX signals_customer_time_cover_idx ON signals (customer_id, occurred_at) INCLUDE (kind, value)`.execute(db);
  await sql`DROP INDEX IF EXISTS signals_customer_time_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS signals_customer_time_idx ON signals (customer_id, occurred_at)`.execute(db);
  await sql`DROP INDEX IF EXISTS signals_customer_time_cover_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS signals_kind_time_idx`.execute(db);
  await sql`DROP TABLE IF EXISTS run_population`.execute(db);
  await sql`DROP TABLE IF EXISTS scoring_run_batches`.execute(db);
  await sql`DROP INDEX IF EXISTS scoring_runs_kind_started_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS scoring_runs_job_key_idx`.execute(db);
  await sql`ALTER TABLE scoring_runs DROP COLUMN IF EXISTS job_key, DROP COLUMN IF EXISTS context, DROP COLUMN IF EXISTS batches_failed, DROP COLUMN IF EXISTS error`.execute(
    db,
  );
}
