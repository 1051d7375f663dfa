import { sql, type Kysely } from 'kysely';

/**
 * Churn models: contract starts for the contractual retention model, the
 * calibrated churn chance on the latest score, and model fits of two more
 * kinds (the health model, the renewal model) with their figures.
 * Frozen in time: takes Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // When the customer's contract began: with churned_at, each customer's
  // tenure in contract years, which the renewal model is fitted on. Null =
  // unknown (the customer is left out of that fit, never guessed). A churn
  // dated before the start is reported by the fit rather than refused here,
  // so one bad row never fails an import.
  await sql`ALTER TABLE customers ADD COLUMN started_at timestamptz`.execute(db);

  // The chance of churn within churn_horizon_days, from the health model in
  // use when the score was computed; null when no model is fitted. Kept on
  // the latest score only: the card reads it, history keeps the numbers it trends.
  await sql`ALTER TABLE customer_scores ADD COLUMN churn_probability double precision, ADD COLUMN churn_horizon_days smallint`.execute(db);

  // 'health': the churn model of the scorecard's measures (learned or
  // configured weights, calibration, alert threshold, validation figures);
  // 'renewal': the contractual retention model by segment. Their structure
  // does not fit params' flat numbers, so it goes in details.
  await sql`ALTER TABLE model_fits DROP CONSTRAINT IF EXISTS model_fits_model_check`.execute(db);
  await sql`ALTER TABLE model_fits ADD CONSTRAINT model_fits_model_check CHECK (model IN ('bgnbd', 'gammagamma', 'health', 'renewal'))`.execute(db);
  await sql`ALTER TABLE model_fits ADD COLUMN details jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DELETE FROM model_fits WHERE model IN ('health', 'renewal')`.execute(db);
  await sql`ALTER TABLE model_fits DROP COLUMN IF EXISTS details`.execute(db);
  await sql`ALTER TABLE model_fits DROP CONSTRAINT IF EXISTS model_fits_model_check`.execute(db);
  await sql`ALTER TABLE model_fits ADD CONSTRAINT model_fits_model_check CHECK (model IN ('bgnbd', 'gammagamma'))`.execute(db);
  await sql`ALTER TABLE customer_scores DROP COLUMN IF EXISTS churn_probability, DROP COLUMN IF EXISTS churn_horizon_days`.execute(db);
  await sql`ALTER TABLE customers DROP COLUMN IF EXISTS started_at`.execute(db);
}
