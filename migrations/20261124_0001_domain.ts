import { sql, type Kysely } from 'kysely';

/**
 * The whole domain: customers, signals, scores, members and teams. Frozen in time: takes Kysely<any>, imports
 * nothing from src/. Later migrations add columns, never redesign these.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);

  await db.schema
    .createTable('teams')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text')
    .addColumn('tz', 'text', (c) => c.notNull().defaultTo('UTC'))
    .addColumn('digest_hour', 'integer', (c) => c.notNull().defaultTo(9).check(sql`digest_hour BETWEEN 0 AND 23`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('members')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('slack_user_id', 'text', (c) => c.notNull().unique())
    .addColumn('team_id', 'integer', (c) => c.notNull().references('teams.id'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('rep', 'manager', 'admin')`))
    .addColumn('alert_channel_id', 'text')
    .addColumn('display_name', 'text')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('members_team_idx').on('members').column('team_id').execute();

  await db.schema
    .createTable('customers')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('external_id', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('domain', 'text')
    .addColumn('plan', 'text')
    .addColumn('arr', sql`numeric(14, 2)`, (c) => c.check(sql`arr >= 0`))
    .addColumn('currency', 'text')
    .addColumn('renewal_date', 'date')
    .addColumn('owner_member_id', 'integer', (c) => c.references('members.id').onDelete('set null'))
    .addColumn('owner_since', 'timestamptz')
    .addColumn('team_id', 'integer', (c) => c.references('teams.id').onDelete('set null'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status IN ('active', 'churned')`))
    .addColumn('churned_at', 'timestamptz')
    // Bumped whenever a signal, feedback or interaction arrives: incremental
    // rescoring picks customers whose data changed after their last score.
    .addColumn('data_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`CREATE INDEX customers_name_trgm_idx ON customers USING gin (lower(name) gin_trgm_ops)`.execute(db);
  await sql`CREATE INDEX customers_domain_trgm_idx ON customers USING gin (lower(domain) gin_trgm_ops)`.execute(db);
  await sql`CREATE INDEX customers_external_id_lower_idx ON customers (lower(external_id))`.execute(db);
  // Exact and prefix lookups by name or domain skip the trigram work entirely.
  await sql`CREATE INDEX customers_name_lower_idx ON customers (lower(name) text_pattern_ops)`.execute(db);
  await sql`CREATE INDEX customers_domain_lower_idx ON customers (lower(domain) text_pattern_ops)`.execute(db);
  await db.schema.createIndex('customers_owner_idx').on('customers').column('owner_member_id').execute();
  await db.schema.createIndex('customers_team_idx').on('customers').column('team_id').execute();
  await db.schema.createIndex('customers_renewal_idx').on('customers').column('renewal_date').execute();

  // Signals are append-only and grow without bound: range-partitioned by time
  // so old years can be detached or dropped. Yearly partitions plus a default catch everything else.
  // The identity of a signal is (customer, kind, occurred_at, dedupe_key); the
  // dedupe key is the external id when one is given, else a hash of the row,
  // so re-importing a file or replaying an API batch changes nothing.
  await sql`
    CREATE TABLE signals (
      id bigint GENERATED ALWAYS AS IDENTITY,
      customer_id bigint NOT NULL,
      kind text NOT NULL CHECK (kind IN ('order', 'usage', 'ticket', 'complaint', 'payment_failed', 'nps')),
      occurred_at timestamptz NOT NULL,
      value numeric(18, 4),
      external_id text,
      dedupe_key text NOT NULL,
      source text NOT NULL DEFAULT 'csv',
      ingested_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (id, occurred_at),
      UNIQUE (customer_id, kind, occurred_at, dedupe_key)
    ) PARTITION BY RANGE (occurred_at)`.execute(db);
  for (let year = 2015; year <= 2032; year++) {
    await sql
      .raw(`CREATE TABLE signals_${year} PARTITION OF signals FOR VALUES FROM ('${year}-01-01T00:00:00Z') TO ('${year + 1}-01-01T00:00:00Z')`)
      .execute(db);
  }
  await sql`CREATE TABLE signals_default PARTITION OF signals DEFAULT`.execute(db);
  await sql`CREATE INDEX signals_customer_time_idx ON signals (customer_id, occurred_at)`.execute(db);

  await db.schema
    .createTable('feedback')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('author_slack_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('complaint', 'praise', 'suggestion', 'question')`))
    .addColumn('sentiment', sql`numeric(4, 3)`, (c) => c.notNull().check(sql`sentiment BETWEEN -1 AND 1`))
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('slash'))
    .addColumn('message_permalink', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('feedback_customer_time_idx').on('feedback').columns(['customer_id', 'created_at']).execute();

  await db.schema
    .createTable('interactions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('author_slack_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('call', 'meeting', 'email', 'qbr', 'note')`))
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('interactions_customer_time_idx').on('interactions').columns(['customer_id', 'occurred_at']).execute();

  await db.schema
    .createTable('model_fits')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull().check(sql`model IN ('bgnbd', 'gammagamma')`))
    .addColumn('params', 'jsonb', (c) => c.notNull())
    .addColumn('log_likelihood', 'double precision')
    .addColumn('customers', 'integer', (c) => c.notNull())
    .addColumn('as_of', 'date', (c) => c.notNull())
    .addColumn('fitted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('model_fits_latest_idx').on('model_fits').columns(['model', 'fitted_at']).execute();

  await db.schema
    .createTable('scoring_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('full', 'incremental', 'backtest')`))
    .addColumn('as_of', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('running').check(sql`status IN ('running', 'done', 'failed')`))
    .addColumn('batches_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('batches_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('customers_scored', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();

  // Score history: one row per customer per run; (run, customer) unique so a
  // re-run batch rewrites, never duplicates.
  const scoreColumns = (t: any) =>
    t
      .addColumn('scored_at', 'timestamptz', (c: any) => c.notNull())
      .addColumn('health', 'smallint', (c: any) => c.notNull().check(sql`health BETWEEN 0 AND 100`))
      .addColumn('band', 'text', (c: any) => c.notNull().check(sql`band IN ('green', 'yellow', 'red')`))
      .addColumn('p_alive', 'double precision')
      .addColumn('expected_orders_90d', 'double precision')
      .addColumn('clv', sql`numeric(16, 2)`)
      .addColumn('rfm_r', 'smallint')
      .addColumn('rfm_f', 'smallint')
      .addColumn('rfm_m', 'smallint')
      .addColumn('rfm_segment', 'text')
      .addColumn('tier', 'text', (c: any) => c.check(sql`tier IN ('A', 'B', 'C')`))
      .addColumn('drivers', 'jsonb', (c: any) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .addColumn('measures', 'jsonb', (c: any) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .addColumn('stale', 'jsonb', (c: any) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .addColumn('newest_data_at', 'timestamptz');
  await scoreColumns(
    db.schema
      .createTable('score_history')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('run_id', 'bigint', (c) => c.notNull().references('scoring_runs.id').onDelete('cascade'))
      .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade')),
  )
    .addUniqueConstraint('score_history_run_customer_key', ['run_id', 'customer_id'])
    .execute();
  await db.schema.createIndex('score_history_customer_time_idx').on('score_history').columns(['customer_id', 'scored_at']).execute();

  // Latest score per customer: the card, digest and App Home read this, never history.
  await scoreColumns(
    db.schema
      .createTable('customer_scores')
      .addColumn('customer_id', 'bigint', (c) => c.primaryKey().references('customers.id').onDelete('cascade'))
      .addColumn('run_id', 'bigint', (c) => c.notNull()),
  )
    .addColumn('previous_health', 'smallint')
    .addColumn('previous_band', 'text')
    .execute();
  await db.schema.createIndex('customer_scores_band_idx').on('customer_scores').columns(['band', 'health']).execute();

  await db.schema
    .createTable('ownership_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('import', 'claim', 'assign', 'release', 'dispute_approved', 'api')`))
    .addColumn('from_member_id', 'integer', (c) => c.references('members.id'))
    .addColumn('to_member_id', 'integer', (c) => c.references('members.id'))
    .addColumn('actor_slack_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('dispute_id', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('ownership_events_customer_idx').on('ownership_events').columns(['customer_id', 'created_at']).execute();

  await db.schema
    .createTable('disputes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('claimant_member_id', 'integer', (c) => c.notNull().references('members.id'))
    .addColumn('owner_member_id', 'integer', (c) => c.references('members.id'))
    .addColumn('reason', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status IN ('open', 'approved', 'rejected', 'superseded', 'expired')`))
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by_slack_id', 'text')
    .addColumn('channel_id', 'text')
    .addColumn('message_ts', 'text')
    .addColumn('escalated_at', 'timestamptz')
    .execute();
  // At most one open dispute per account: the impossible state is impossible.
  await sql`CREATE UNIQUE INDEX disputes_one_open_per_customer ON disputes (customer_id) WHERE status = 'open'`.execute(db);

  await db.schema
    .createTable('renewals')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('renewal_date', 'date', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.check(sql`outcome IN ('renewed', 'churned')`))
    .addColumn('churn_reason', 'text', (c) => c.check(sql`churn_reason IN ('price', 'product_gap', 'competitor', 'budget', 'champion_left', 'other')`))
    .addColumn('churn_note', 'text')
    .addColumn('arr', sql`numeric(14, 2)`)
    .addColumn('owner_member_id', 'integer', (c) => c.references('members.id'))
    .addColumn('team_id', 'integer', (c) => c.references('teams.id'))
    .addColumn('tier', 'text')
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by_slack_id', 'text')
    .addColumn('snoozed_until', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('renewals_customer_date_key', ['customer_id', 'renewal_date'])
    .execute();

  await db.schema
    .createTable('alerts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('customer_id', 'bigint', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('rule', 'text', (c) => c.notNull().check(sql`rule IN ('red_band', 'score_drop', 'p_alive', 'complaint_tier_a')`))
    .addColumn('episode', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status IN ('open', 'acknowledged', 'snoozed', 'resolved')`))
    .addColumn('health', 'smallint')
    .addColumn('band', 'text')
    .addColumn('p_alive', 'double precision')
    .addColumn('drivers', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('raised_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('acknowledged_at', 'timestamptz')
    .addColumn('acknowledged_by_slack_id', 'text')
    .addColumn('snoozed_until', 'timestamptz')
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('verdict', 'text', (c) => c.check(sql`verdict IN ('useful', 'false_alarm')`))
    .addColumn('verdict_by_slack_id', 'text')
    .addColumn('verdict_at', 'timestamptz')
    .addUniqueConstraint('alerts_customer_episode_key', ['customer_id', 'episode'])
    .execute();
  // Hysteresis: one unresolved warning per customer at a time.
  await sql`CREATE UNIQUE INDEX alerts_one_active_per_customer ON alerts (customer_id) WHERE status <> 'resolved' AND rule <> 'complaint_tier_a'`.execute(db);

  // Notification outbox: every message to Slack is claimed here first under a
  // unique de-duplication key, then delivered by a job, then marked sent.
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status IN ('pending', 'sending', 'sent', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('customer_id', 'bigint', (c) => c.references('customers.id').onDelete('set null'))
    .addColumn('team_id', 'integer', (c) => c.references('teams.id').onDelete('set null'))
    // A user id (U…) as channel_id means "their DM"; the DM channel actually
    // posted to is kept here so the message can be updated later.
    .addColumn('posted_channel_id', 'text')
    .addColumn('message_ts', 'text')
    .addColumn('sending_started_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`CREATE INDEX notifications_unsent_idx ON notifications (status, created_at) WHERE status <> 'sent'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of [
    'notifications',
    'alerts',
    'renewals',
    'disputes',
    'ownership_events',
    'customer_scores',
    'score_history',
    'scoring_runs',
    'model_fits',
    'interactions',
    'feedback',
    'signals',
    'customers',
    'members',
    'teams',
  ]) {
    await db.schema.dropTable(t).ifExists().cascade().execute();
  }
}
