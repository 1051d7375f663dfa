import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { BgNbdObservation, SpendObservation } from '../scoring/index.js';

/**
 * The calibration data of the buy-till-you-die models, grouped in SQL: one
 * row per distinct (x, t_x, T) pattern for BG/NBD and per distinct (x, mean)
 * for Gamma-Gamma, each with how many customers share it — so a fit costs
 * the distinct patterns, not the customers. Time is in weeks (7 days), days
 * are whole UTC days, same-day orders are one purchase (scoring/purchases.ts).
 */
export interface FitData {
  bgnbd: BgNbdObservation[];
  spend: SpendObservation[];
  /** Customers with at least one order on or before as-of. */
  customers: number;
}

export async function fitData(db: DbOrTrx, asOf: Date): Promise<FitData> {
  const r = await sql<{ set: 'bg' | 'gg'; x: number; tx_days: number | null; t_days: number | null; mean: number | null; n: number }>`
    WITH order_days AS (
      SELECT customer_id, floor(extract(epoch FROM occurred_at) / 86400)::int AS day, sum(coalesce(value, 0))::float8 AS amount
      FROM signals
      WHERE kind = 'order' AND occurred_at <= ${asOf}::timestamptz
      GROUP BY 1, 2
    ),
    per_customer AS (
      SELECT customer_id, (count(*) - 1)::int AS x,
        CASE WHEN count(*) > 1 THEN max(day) - min(day) ELSE 0 END AS tx_days,
        floor(extract(epoch FROM ${asOf}::timestamptz) / 86400)::int - min(day) AS t_days,
        CASE WHEN count(*) > 1 THEN (sum(amount) - (min(ARRAY[day::float8, amount]))[2]) / (count(*) - 1) ELSE 0 END AS mean
      FROM order_days
      GROUP BY customer_id
    )
    SELECT CASE WHEN GROUPING(mean) = 1 THEN 'bg' ELSE 'gg' END AS set,
      x, tx_days, t_days, mean, count(*)::int AS n
    FROM per_customer
    GROUP BY GROUPING SETS ((x, tx_days, t_days), (x, mean))`.execute(db);
  const bgnbd: BgNbdObservation[] = [];
  const spend: SpendObservation[] = [];
  let customers = 0;
  for (const row of r.rows) {
    if (row.set === 'bg') {
      bgnbd.push({ x: row.x, tx: row.tx_days! / 7, T: row.t_days! / 7, count: row.n });
      customers += row.n;
    } else if (row.x > 0 && row.mean !== null && row.mean > 0) {
      spend.push({ x: row.x, mean: row.mean, count: row.n });
    }
  }
  return { bgnbd, spend, customers };
}

export type ModelName = 'bgnbd' | 'gammagamma';
/** Every kind of fit model_fits keeps: the purchase models, the health model, the renewal model. */
export type FitKind = ModelName | 'health' | 'renewal';

export interface StoredFit {
  id: string;
  model: FitKind;
  params: Record<string, number>;
  /** The health and renewal models' structure; null for the purchase models. */
  details: Record<string, unknown> | null;
  logLikelihood: number | null;
  customers: number;
  asOf: string;
  fittedAt: Date;
}

/** The latest fit of a kind; with `asOfOnOrBefore`, the latest fitted as of that date or earlier (what was known then). */
export async function latestFit(db: DbOrTrx, model: FitKind, opts: { asOfOnOrBefore?: string } = {}): Promise<StoredFit | null> {
  let q = db.selectFrom('model_fits').selectAll().where('model', '=', model);
  if (opts.asOfOnOrBefore) q = q.where('as_of', '<=', opts.asOfOnOrBefore);
  const row = await q.orderBy('fitted_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
  if (!row) return null;
  return {
    id: String(row.id),
    model: row.model,
    params: row.params,
    details: row.details ?? null,
    logLikelihood: row.log_likelihood,
    customers: row.customers,
    asOf: row.as_of,
    fittedAt: new Date(row.fitted_at),
  };
}

export async function insertFit(
  db: DbOrTrx,
  fit: {
    model: FitKind;
    params: Record<string, number>;
    details?: Record<string, unknown> | null;
    logLikelihood: number | null;
    customers: number;
    asOf: string;
    fittedAt: Date;
  },
): Promise<string> {
  const row = await db
    .insertInto('model_fits')
    .values({
      model: fit.model,
      params: JSON.stringify(fit.params),
      details: fit.details ? JSON.stringify(fit.details) : null,
      log_likelihood: fit.logLikelihood,
      customers: fit.customers,
      as_of: fit.asOf,
      fitted_at: fit.fittedAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return String(row.id);
}
