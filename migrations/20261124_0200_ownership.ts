import { sql, type Kysely } from 'kysely';

/**
 * Ownership, disputes and feedback from Slack. Frozen in time: takes
 * Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Escalation scan: open disputes by age.
  await sql`CREATE INDEX disputes_open_age_idx ON disputes (opened_at) WHERE status = 'open'`.execute(db);
  await db.schema.createIndex('disputes_claimant_idx').on('disputes').column('claimant_member_id').execute();
  await db.schema.createIndex('disputes_owner_idx').on('disputes').column('owner_member_id').execute();

  // Feedback: where its kind came from (a #tag, the classifier, or picked in
  // the shortcut modal), the Slack message it was logged from, and the
  // complaint_tier_a alert it raised (so the alert is raised once per feedback).
  await db.schema
    .alterTable('feedback')
    .addColumn('kind_source', 'text', (c) => c.notNull().defaultTo('auto').check(sql`kind_source IN ('tag', 'auto', 'chosen')`))
    .addColumn('message_channel_id', 'text')
    .addColumn('message_ts', 'text')
    .addColumn('alert_id', 'bigint', (c) => c.references('alerts.id').onDelete('set null'))
    .execute();
  // The same Slack message logged twice for the same customer is one feedback.
  await sql`CREATE UNIQUE INDEX feedback_message_once ON feedback (customer_id, message_channel_id, message_ts) WHERE message_ts IS NOT NULL`.execute(db);

  // "My accounts" and the App Home read interactions by author and customer.
  await db.schema.createIndex('interactions_author_time_idx').on('interactions').columns(['author_slack_id', 'occurred_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS interactions_author_time_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS feedback_message_once`.execute(db);
  await db.schema.alterTable('feedback').dropColumn('alert_id').dropColumn('message_ts').dropColumn('message_channel_id').dropColumn('kind_source').execute();
  await sql`DROP INDEX IF EXISTS disputes_owner_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS disputes_claimant_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS disputes_open_age_idx`.execute(db);
}
