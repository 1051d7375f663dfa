import { sql, type Kysely } from 'kysely';

/**
 * The latest score's explanation (drivers, measures, stale feeds) as json,
 * not jsonb (issue 3's rescore speed). These documents are only ever stored
 * and handed back whole — no query looks inside them — and a full run
 * rewrites them for every customer: converting ~1.4 MB of them per batch of
 * 2,000 into jsonb's binary form cost 46 ms per batch in Postgres, against
 * 30 ms to check and keep them as text. Readers see the same values
 * (node-postgres parses both types).
 * Frozen in time: takes Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE customer_scores
      ALTER COLUMN drivers DROP DEFAULT, ALTER COLUMN drivers TYPE json USING drivers::json, ALTER COLUMN drivers SET DEFAULT '[]'::json,
      ALTER COLUMN measures DROP DEFAULT, ALTER COLUMN measures TYPE json USING measures::json, ALTER COLUMN measures SET DEFAULT '[]'::json,
      ALTER COLUMN stale DROP DEFAULT, ALTER COLUMN stale TYPE json USING stale::json, ALTER COLUMN stale SET DEFAULT '[]'::json`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE customer_scores
      ALTER COLUMN drivers DROP DEFAULT, ALTER COLUMN drivers TYPE jsonb USING drivers::jsonb, ALTER COLUMN drivers SET DEFAULT '[]'::jsonb,
      ALTER COLUMN measures DROP DEFAULT, ALTER COLUMN measures TYPE jsonb USING measures::jsonb, ALTER COLUMN measures SET DEFAULT '[]'::jsonb,
      ALTER COLUMN stale DROP DEFAULT, ALTER COLUMN stale TYPE jsonb USING stale::jsonb, ALTER COLUMN stale SET DEFAULT '[]'::jsonb`.execute(db);
}
