import { sql, type Kysely } from 'kysely';

/**
 * Ingest API: identity mappings learned from Segment and Stripe, and
 * the Stripe event ledger that makes webhook replays harmless. Frozen in time:
 * takes Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Segment `group` calls tell us which customer a user belongs to; later
  // `track` calls that carry only a userId are matched through this table.
  await db.schema
    .createTable('segment_users')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('segment_users_customer_idx').on('segment_users').column('customer_id').execute();

  // Stripe customer id → our customer, stored the first time an event is
  // matched (by id or by the billing email's domain).
  await db.schema
    .createTable('stripe_customers')
    .addColumn('stripe_customer_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('matched_by', 'text', (c) => c.notNull().check(sql`matched_by IN ('id', 'email_domain', 'manual')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('stripe_customers_customer_idx').on('stripe_customers').column('customer_id').execute();

  // One row per applied Stripe event, inserted in the same transaction as its
  // effect: a replay (Stripe retries, dashboard resends) finds the row and is
  // ignored. Unmatched events are not recorded, so a resend after the
  // customer exists still applies.
  await db.schema
    .createTable('stripe_events')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'bigint', (c) => c.references('customers.id').onDelete('set null'))
    .addColumn('stripe_customer_id', 'text')
    // Signals carry no currency column: the amount and currency of money
    // events are kept here for audit.
    .addColumn('amount', sql`numeric(18, 4)`)
    .addColumn('currency', 'text')
    .addColumn('stripe_created_at', 'timestamptz')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('stripe_events_customer_idx').on('stripe_events').columns(['customer_id', 'received_at']).execute();

  // Segment and Stripe match customers by domain with equality; the trigram
  // index of the domain migration serves fuzzy search, not this.
  await sql`CREATE INDEX IF NOT EXISTS customers_domain_lower_idx ON customers (lower(domain))`.execute(db);

  // Every ingest batch bumps customers.data_changed_at (the incremental
  // rescore's contract), so a customer row is rewritten about once per batch
  // that mentions it. Free room in each page lets those updates stay HOT (no
  // new entries in the customer indexes, two of them GIN): measured 26% HOT at
  // the default fillfactor 100, 83% at 70, and half the table size.
  await sql`ALTER TABLE customers SET (fillfactor = 70)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE customers RESET (fillfactor)`.execute(db);
  await sql`DROP INDEX IF EXISTS customers_domain_lower_idx`.execute(db);
  for (const t of ['stripe_events', 'stripe_customers', 'segment_users']) await db.schema.dropTable(t).ifExists().execute();
}
