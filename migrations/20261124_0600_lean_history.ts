import { sql, type Kysely } from 'kysely';

/**
 * Score history keeps the numbers only (health, band, model values, tier,
 * segment): every reader of history wants a trend, and the explanation —
 * drivers, measures, stale feeds — belongs to the latest score
 * (customer_scores). A nightly full run of a large book otherwise stored the
 * same ~600 bytes of driver text per customer per night. Keyed by run and
 * customer; the surrogate id served nothing.
 * Frozen in time: takes Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE score_history DROP COLUMN drivers, DROP COLUMN measures, DROP COLUMN stale`.execute(db);
  await sql`ALTER TABLE score_history DROP CONSTRAINT score_history_pkey, DROP COLUMN id`.execute(db);
  await sql`ALTER TABLE score_history DROP CONSTRAINT score_history_run_customer_key, ADD CONSTRAINT score_history_pkey PRIMARY KEY (run_id, customer_id)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE score_history DROP CONSTRAINT score_history_pkey, ADD CONSTRAINT score_history_run_customer_key UNIQUE (run_id, customer_id)`.execute(
    db,
  );
  await sql`ALTER TABLE score_history ADD COLUMN id bigserial PRIMARY KEY`.execute(db);
  await sql`
    ALTER TABLE score_history
      ADD COLUMN drivers jsonb NOT NULL DEFAULT '[]'::jsonb,
      ADD COLUMN measures jsonb NOT NULL DEFAULT '[]'::jsonb,
      ADD COLUMN stale jsonb NOT NULL DEFAULT '[]'::jsonb`.execute(db);
}
