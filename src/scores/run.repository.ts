import { sql } from 'kysely';
import type { Db, DbOrTrx } from '../platform/db.js';

/**
 * A scoring run's row (scoring_runs) and its batch markers
 * (scoring_run_batches): opening, preparing, counting batches, closing, and
 * what the watchdog reads of open runs.
 */

export type RunKind = 'full' | 'incremental' | 'backtest';

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
  await sql`UPDATE scoring_runs SET status = 'failed', error = ${error.slice(0, 2000)}, finished_at = now() WHERE id = ${runId} AND status = 'running'`.execute(
    db,
  );
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

/** Whether this batch has already been counted towards its run (its marker row exists). */
export async function batchCounted(db: DbOrTrx, runId: string, batch: number): Promise<boolean> {
  const counted = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM scoring_run_batches WHERE run_id = ${runId} AND batch = ${batch}`.execute(db);
  return (counted.rows[0]?.n ?? 0) > 0;
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

/**
 * Whether the book has had a full run: 'done' (one finished), 'running' (the
 * first is under way, started within a day — older ones are the watchdog's),
 * or 'none'.
 */
export async function fullRunState(db: DbOrTrx): Promise<'done' | 'running' | 'none'> {
  const r = await sql<{ done: boolean; running: boolean }>`
    SELECT
      EXISTS (SELECT 1 FROM scoring_runs WHERE kind = 'full' AND status = 'done') AS done,
      EXISTS (SELECT 1 FROM scoring_runs WHERE kind = 'full' AND status = 'running' AND started_at > now() - interval '1 day') AS running`.execute(db);
  const row = r.rows[0]!;
  return row.done ? 'done' : row.running ? 'running' : 'none';
}

/** Any number, the same in every process: the lock that serializes opening incremental runs. */
const INCREMENTAL_OPEN_LOCK = 0x7265_7363; // 'resc'

/**
 * Opens an incremental run for this job unless another incremental run is
 * open and alive (it started, was prepared or finished a batch within
 * `aliveWithinMs`): 'busy'. Checked and opened under one lock, so of two
 * jobs asking at once one opens and the other waits. A re-run of the job
 * finds its own run.
 */
export async function openIncrementalUnlessBusy(db: Db, o: { asOf: Date; jobKey: string; aliveWithinMs: number }): Promise<{ run: RunRow } | 'busy'> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${INCREMENTAL_OPEN_LOCK}::bigint)`.execute(trx);
    const own = await findRunByJobKey(trx, o.jobKey);
    if (own) return { run: own };
    const busy = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM scoring_runs r
      WHERE r.kind = 'incremental' AND r.status = 'running'
        AND greatest(r.started_at, (r.context->>'preparedAt')::timestamptz,
                     (SELECT max(b.finished_at) FROM scoring_run_batches b WHERE b.run_id = r.id))
            > now() - make_interval(secs => ${o.aliveWithinMs / 1000}::float8)`.execute(trx);
    if (busy.rows[0]!.n > 0) return 'busy';
    return { run: (await openRun(trx, 'incremental', o.asOf, o.jobKey)).run };
  });
}
