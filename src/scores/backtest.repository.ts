import { sql } from 'kysely';
import type { DbOrTrx, Trx } from '../platform/db.js';
import type { ChurnDefinition } from './health-model.rules.js';

/**
 * What only replays of the past query: a backtest's own `backtest` run row
 * (the one thing it leaves behind), the temporary population table of a
 * replay's transaction, who churned in the horizon after a date, and what
 * kind of churn the book records.
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
  await db.updateTable('scoring_runs').set({ status: 'done', customers_scored: customersScored, finished_at: finishedAt }).where('id', '=', runId).execute();
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

/** Empties one replay's rows of the backtest population table (the next replay in the transaction writes its own). */
export async function clearBacktestPopulation(trx: Trx, key: string): Promise<void> {
  await sql`DELETE FROM bt_population WHERE run_id = ${key}::bigint`.execute(trx);
}

const DAY_MS = 86_400_000;

/**
 * Of these customers, the ids that churned within the horizon after as-of:
 * - status: marked churned (customers.churned_at) or a renewal decided as
 *   churned, in (as-of, as-of + horizon];
 * - lapse: no order in the whole UTC days after as-of's day, up to horizon
 *   days — days as the purchase models count them, so same-day orders are one
 *   purchase and an order later on the as-of day belongs to the past.
 * Lapse is only meaningful for customers with an order by as-of; the caller
 * judges only those.
 */
export async function churnedAmong(db: DbOrTrx, ids: readonly string[], churn: ChurnDefinition, asOf: Date, horizonDays: number): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  if (churn === 'status') {
    const until = new Date(asOf.getTime() + horizonDays * DAY_MS);
    const r = await sql<{ id: string }>`
      SELECT c.id::text AS id FROM customers c
      WHERE c.id = ANY(${[...ids]}::bigint[]) AND c.churned_at > ${asOf}::timestamptz AND c.churned_at <= ${until}::timestamptz
      UNION
      SELECT r.customer_id::text FROM renewals r
      WHERE r.customer_id = ANY(${[...ids]}::bigint[]) AND r.outcome = 'churned'
        AND r.decided_at > ${asOf}::timestamptz AND r.decided_at <= ${until}::timestamptz`.execute(db);
    return new Set(r.rows.map((x) => x.id));
  }
  const firstDay = Math.floor(asOf.getTime() / DAY_MS) + 1;
  const from = new Date(firstDay * DAY_MS);
  const to = new Date((firstDay + horizonDays) * DAY_MS);
  const r = await sql<{ id: string }>`
    SELECT i.id::text AS id FROM unnest(${[...ids]}::bigint[]) AS i(id)
    WHERE NOT EXISTS (
      SELECT 1 FROM signals s
      WHERE s.customer_id = i.id AND s.kind = 'order' AND s.occurred_at >= ${from}::timestamptz AND s.occurred_at < ${to}::timestamptz
    )`.execute(db);
  return new Set(r.rows.map((x) => x.id));
}

/** What the book records: contractual churn (an account marked churned, a renewal lost) and orders. */
export async function bookChurnEvidence(db: DbOrTrx): Promise<{ contractual: boolean; orders: boolean }> {
  const r = await sql<{ contractual: boolean; orders: boolean }>`
    SELECT
      (EXISTS (SELECT 1 FROM customers WHERE status = 'churned' OR churned_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM renewals WHERE outcome = 'churned')) AS contractual,
      EXISTS (SELECT 1 FROM signals WHERE kind = 'order') AS orders`.execute(db);
  const row = r.rows[0]!;
  return { contractual: row.contractual, orders: row.orders };
}
