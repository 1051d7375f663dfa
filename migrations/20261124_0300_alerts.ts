import { sql, type Kysely } from 'kysely';

/**
 * Churn warnings, renewal reminders, digests. Frozen in time: takes
 * Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Every rule that fired when the warning was raised (the `rule` column keeps
  // the main one, which precision is measured against), who did what on the
  // message (re-rendered in place on each click), and why it was resolved.
  await db.schema
    .alterTable('alerts')
    .addColumn('triggers', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('activity', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('resolved_reason', 'text')
    .execute();
  await db.schema.createIndex('alerts_rule_raised_idx').on('alerts').columns(['rule', 'raised_at']).execute();

  // Renewal-rate reports group decided renewals by quarter of the renewal date.
  await sql`CREATE INDEX renewals_decided_idx ON renewals (renewal_date) WHERE outcome IS NOT NULL`.execute(db);

  // The digest lists a team's failed notifications; the outbox CLI lists unsent rows.
  await sql`CREATE INDEX notifications_failed_team_idx ON notifications (team_id, updated_at) WHERE status = 'failed'`.execute(db);
  await sql`CREATE INDEX notifications_customer_kind_idx ON notifications (customer_id, kind)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS notifications_customer_kind_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS notifications_failed_team_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS renewals_decided_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS alerts_rule_raised_idx`.execute(db);
  await db.schema.alterTable('alerts').dropColumn('triggers').dropColumn('activity').dropColumn('resolved_reason').execute();
}
