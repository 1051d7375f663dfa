/**
 * A large synthetic book for the benchmarks, generated in SQL: customers,
 * time-ordered signals (two loaders in parallel, signal indexes built after
 * the load), interactions and feedback for a share of the customers.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../src/platform/database.js';
import { createDb, dropDatabase, ensureDatabase } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { migrateToLatest } from '../src/platform/migrate.js';

export interface BookOptions {
  url: string;
  customers: number;
  signals: number;
  days: number;
  /** Keep a book of the requested size when the database already holds one. */
  reuse: boolean;
  log: (line: string) => void;
  /** Reset what a previous bench left behind, when the book is reused. */
  onReuse?: (db: Kysely<Database>) => Promise<void>;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function timed<T>(log: (line: string) => void, label: string, fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  const ms = performance.now() - t0;
  log(`  ${label}: ${secs(ms)}`);
  return [v, ms];
}

/** Creates (or, with `reuse`, keeps) the database and its book. */
export async function generateBook(o: BookOptions): Promise<'reused' | 'generated'> {
  if (!o.reuse) await dropDatabase(o.url).catch(() => undefined);
  await ensureDatabase(o.url);
  return generateFresh(o);
}

export async function generateFresh(o: BookOptions): Promise<'reused' | 'generated'> {
  const { url: URL_, customers: CUSTOMERS, signals: SIGNALS, days: DAYS, reuse: REUSE, log } = o;
  const h = createDb(URL_, silentLogger, 4);
  try {
    await migrateToLatest(h.db);
    const have = await sql<{ c: string; s: string }>`
      SELECT (SELECT count(*) FROM customers) AS c, (SELECT count(*) FROM signals) AS s`.execute(h.db);
    if (REUSE && Number(have.rows[0]!.c) === CUSTOMERS && Number(have.rows[0]!.s) >= SIGNALS * 0.95) {
      log(`reusing the existing book: ${CUSTOMERS} customers, ${have.rows[0]!.s} signals`);
      await o.onReuse?.(h.db);
      return 'reused';
    }
    if (Number(have.rows[0]!.c) > 0) {
      await h.close();
      await dropDatabase(URL_);
      await ensureDatabase(URL_);
      return generateFresh(o);
    }
    log(`generating ${CUSTOMERS.toLocaleString()} customers and ${SIGNALS.toLocaleString()} signals over ${DAYS} days…`);
    await sql`SET maintenance_work_mem = '512MB'`.execute(h.db);
    await timed(log, 'customers', () =>
      sql`
        INSERT INTO customers (external_id, name, arr, status, created_at, data_changed_at)
        SELECT 'B' || i, 'Bench customer ' || i,
          CASE WHEN i % 4 = 0 THEN NULL ELSE (1000 + (i::bigint * 7919) % 200000)::numeric END,
          'active', now() - interval '400 days', now() - interval '1 day'
        FROM generate_series(1, ${CUSTOMERS}::int) AS i`.execute(h.db),
    );
    // Indexes after the load: building them once is far cheaper than
    // maintaining them row by row.
    await sql`ALTER TABLE signals DROP CONSTRAINT signals_pkey`.execute(h.db);
    await sql`ALTER TABLE signals DROP CONSTRAINT signals_customer_id_kind_occurred_at_dedupe_key_key`.execute(h.db);
    await sql`DROP INDEX signals_customer_time_cover_idx`.execute(h.db);
    await sql`DROP INDEX signals_kind_time_idx`.execute(h.db);
    await sql`DROP INDEX IF EXISTS signals_source_ingested_idx`.execute(h.db);
    const perDay = Math.ceil(SIGNALS / DAYS);
    // Time-ordered like real arrivals; customers spread by a multiplicative
    // hash; kinds: usage 55%, order 20%, ticket 10%, nps 7%, complaint 5%,
    // payment_failed 3%. Some customers fade (fewer signals in the last 90 days).
    const load = (fromDay: number, toDay: number) => {
      const loader = createDb(URL_, silentLogger, 1);
      return sql`
        INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
        SELECT cid, kind, ts, value, d || '-' || k, 'bench'
        FROM (
          SELECT d, k,
            ((k::bigint * 2654435761 + d::bigint * 40503) % ${CUSTOMERS}::bigint) + 1 AS cid,
            (date_trunc('day', now()) - make_interval(days => ${DAYS}::int - d) + make_interval(secs => (k * 37) % 86400)) AS ts,
            ((k * 31 + d * 17) % 100) AS bucket
          FROM generate_series(${fromDay}::int, ${toDay}::int) AS d, generate_series(1, ${perDay}::int) AS k
        ) g,
        LATERAL (SELECT
          CASE WHEN bucket < 55 THEN 'usage' WHEN bucket < 75 THEN 'order' WHEN bucket < 85 THEN 'ticket'
               WHEN bucket < 92 THEN 'nps' WHEN bucket < 97 THEN 'complaint' ELSE 'payment_failed' END AS kind,
          CASE WHEN bucket < 55 THEN (5 + (k % 40))::numeric
               WHEN bucket < 75 THEN (50 + (k * 13) % 5000)::numeric
               WHEN bucket >= 85 AND bucket < 92 THEN (k % 11)::numeric
               ELSE NULL END AS value) v
        WHERE NOT (cid % 10 = 0 AND d > ${DAYS - 90}::int AND k % 3 <> 0)`
        .execute(loader.db)
        .finally(() => loader.close());
    };
    const mid = Math.floor(DAYS / 2);
    await timed(log, 'signals (2 loaders)', () => Promise.all([load(0, mid), load(mid + 1, DAYS - 1)]));
    await timed(log, 'signal indexes', async () => {
      await Promise.all([
        sql`ALTER TABLE signals ADD PRIMARY KEY (id, occurred_at)`.execute(h.db),
        (async () => {
          const other = createDb(URL_, silentLogger, 1);
          try {
            await sql`SET maintenance_work_mem = '512MB'`.execute(other.db);
            await sql`CREATE INDEX signals_customer_time_cover_idx ON signals (customer_id, occurred_at) INCLUDE (kind, value)`.execute(other.db);
          } finally {
            await other.close();
          }
        })(),
      ]);
      await Promise.all([
        sql`ALTER TABLE signals ADD CONSTRAINT signals_customer_id_kind_occurred_at_dedupe_key_key UNIQUE (customer_id, kind, occurred_at, dedupe_key)`.execute(
          h.db,
        ),
        (async () => {
          const other = createDb(URL_, silentLogger, 1);
          try {
            await sql`SET maintenance_work_mem = '512MB'`.execute(other.db);
            await sql`CREATE INDEX signals_kind_time_idx ON signals (kind, occurred_at)`.execute(other.db);
            await sql`CREATE INDEX signals_source_ingested_idx ON signals (source, ingested_at)`.execute(other.db);
          } finally {
            await other.close();
          }
        })(),
      ]);
    });
    await timed(log, 'interactions and feedback', async () => {
      await sql`
        INSERT INTO interactions (customer_id, author_slack_id, kind, note, occurred_at)
        SELECT (i * 7) % ${CUSTOMERS}::int + 1, 'U0BENCH', 'call', '', now() - make_interval(days => (i % 200))
        FROM generate_series(1, ${Math.floor(CUSTOMERS * 0.4)}::int) AS i`.execute(h.db);
      await sql`
        INSERT INTO feedback (customer_id, author_slack_id, kind, sentiment, text, created_at)
        SELECT (i * 13) % ${CUSTOMERS}::int + 1, 'U0BENCH', CASE WHEN i % 3 = 0 THEN 'complaint' ELSE 'praise' END,
          CASE WHEN i % 3 = 0 THEN -0.6 ELSE 0.7 END, 'bench', now() - make_interval(days => (i % 120))
        FROM generate_series(1, ${Math.floor(CUSTOMERS * 0.05)}::int) AS i`.execute(h.db);
    });
    await timed(log, 'vacuum analyze', () => sql`VACUUM ANALYZE`.execute(h.db));
    return 'generated';
  } finally {
    await h.close();
  }
}
