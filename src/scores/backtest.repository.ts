import { sql } from 'kysely';
import type { DbOrTrx, Trx } from '../platform/db.js';

/**
 * What only a backtest queries: its own `backtest` run row (the one thing it
 * leaves behind), the temporary population table of its transaction, and
 * who churned in the horizon it is judged against.
 */

/** Opens the backtest's run row; returns its id. */
export async function openBacktestRun(db: DbOrTrx, asOf: Date, startedAt: Date): Promise<string> {
  const run = await db
    .insertInto('scoring_runs')
    .values({ kind: 'backtest', as_of: asOf, status: 'running', started_at: startedAt, job_key: null, finished_at: null, error: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(run.id);
}

export async function finishBacktestRun(db: DbOrTrx, runId: string, customersScored: number, finishedAt: Date): Promise<void> {
  await db
    .updateTable('scoring_runs')
    .set({ status: 'done', customers_scored: customersScored, finished_at: finishedAt })
    .where('id', '=', runId)
    .execute();
}

export async function failBacktestRun(db: DbOrTrx, runId: string, error: string, finishedAt: Date): Promise<void> {
  await db
    .updateTable('scoring_runs')
    .set({ status: 'failed', error: error.slice(0, 2000), finished_at: finishedAt })
    .where('id', '=', runId)
    .execute();
}

/** The backtest's population table: shaped like run_population, dropped when the transaction ends. */
export async function createBacktestPopulation(trx: Trx): Promise<void> {
  await sql`CREATE TEMP TABLE bt_population (LIKE run_population INCLUDING ALL) ON COMMIT DROP`.execute(trx);
}

/** Every customer of one replay's population (the active base at its date). */
export async function backtestPopulationIds(trx: Trx, key: string): Promise<string[]> {
  const base = await sql<{ id: string }>`SELECT customer_id::text AS id FROM bt_population WHERE run_id = ${key}`.execute(trx);
  return base.rows.map((r) => r.id);
}

/** Customers that churned in (after, until]: marked churned on the account, or a renewal decided as churned. */
export async function churnedBetween(db: DbOrTrx, after: Date, until: Date): Promise<Set<string>> {
  const churned = await sql<{ id: string }>`
    SELECT c.id::text AS id FROM customers c
    WHERE c.churned_at > ${after}::timestamptz AND c.churned_at <= ${until}::timestamptz
    UNION
    SELECT r.customer_id::text FROM renewals r
    WHERE r.outcome = 'churned' AND r.decided_at > ${after}::timestamptz AND r.decided_at <= ${until}::timestamptz`.execute(db);
  return new Set(churned.rows.map((r) => r.id));
}
