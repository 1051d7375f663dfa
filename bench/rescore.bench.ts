/**
 * Rescore benchmark.
 *
 *   npx tsx bench/rescore.bench.ts [--customers 1000000] [--signals 20000000] [--batch 2000] [--keep] [--reuse] [--no-hooks]
 *
 * 1. Creates its own database (retain_bench_rescore), generates the book in
 *    SQL (generate_series, time-ordered like real arrivals, two loaders in
 *    parallel; signal indexes built after the load), plus interactions and
 *    feedback for a share of the customers.
 * 2. Times the bare aggregate of the signals per customer (count, max, sum
 *    GROUP BY customer) — the floor any per-customer scoring has to read.
 * 3. Times the purchase-model fit, then a full rescore through the real code:
 *    a `rescore` job on a real BullMQ queue, a worker in this process taking
 *    the `rescoreBatch` jobs. Prints both times, their ratio (target ≤ 3×)
 *    and the peak RSS of this process while it runs (target < 300 MB).
 * 4. Gives 10,000 customers new signals and times an incremental run.
 *
 * --reuse skips generation when the database already holds a book of the
 * requested size; --keep leaves the database for inspection; --no-hooks
 * leaves out the features' scores-written hooks (churn warnings) to time
 * the scoring alone.
 *
 * RSS: with V8's default heap sizing the old space grows to ~250 MB under
 * this allocation rate before it collects (RSS ~320–340 MB), though the live
 * set is < 100 MB. `retain start|worker` run with a 256 MB old-space cap
 * (RETAIN_HEAP_MB), and `npm run bench:rescore` measures the worker the same
 * way (node --max-old-space-size=256).
 */
import { features } from '../src/features.js';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { start } from '../src/main.js';
import { createDb, dropDatabase, ensureDatabase } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { migrateToLatest } from '../src/platform/migrate.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const CUSTOMERS = opt('customers', 1_000_000);
const SIGNALS = opt('signals', 20_000_000);
const BATCH = opt('batch', 2_000);
const KEEP = args.includes('--keep');
const REUSE = args.includes('--reuse');
const NO_HOOKS = args.includes('--no-hooks');
const CHANGED = Math.min(10_000, CUSTOMERS);
const DAYS = 365;

const BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const URL_ = `${BASE}/retain_bench_rescore`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const log = (line: string) => console.log(line);

async function timed<T>(label: string, fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  const ms = performance.now() - t0;
  log(`  ${label}: ${secs(ms)}`);
  return [v, ms];
}

async function generate(): Promise<void> {
  if (!REUSE) await dropDatabase(URL_).catch(() => undefined);
  await ensureDatabase(URL_);
  return generateFresh();
}

async function generateFresh(): Promise<void> {
  const h = createDb(URL_, silentLogger, 4);
  try {
    await migrateToLatest(h.db);
    const have = await sql<{ c: string; s: string }>`
      SELECT (SELECT count(*) FROM customers) AS c, (SELECT count(*) FROM signals) AS s`.execute(h.db);
    if (REUSE && Number(have.rows[0]!.c) === CUSTOMERS && Number(have.rows[0]!.s) >= SIGNALS * 0.95) {
      log(`reusing the existing book: ${CUSTOMERS} customers, ${have.rows[0]!.s} signals`);
      await sql`DELETE FROM customer_scores`.execute(h.db);
      await sql`DELETE FROM scoring_runs`.execute(h.db);
      await sql`DELETE FROM model_fits`.execute(h.db);
      await sql`DELETE FROM signals WHERE source = 'bench-new'`.execute(h.db);
      await sql`DELETE FROM run_population`.execute(h.db);
      await sql`UPDATE customers SET data_changed_at = now() - interval '1 day'`.execute(h.db);
      await sql`VACUUM ANALYZE`.execute(h.db);
      return;
    }
    if (Number(have.rows[0]!.c) > 0) {
      await h.close();
      await dropDatabase(URL_);
      await ensureDatabase(URL_);
      return generateFresh();
    }
    log(`generating ${CUSTOMERS.toLocaleString()} customers and ${SIGNALS.toLocaleString()} signals over ${DAYS} days…`);
    await sql`SET maintenance_work_mem = '512MB'`.execute(h.db);
    await timed('customers', () =>
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
    await timed('signals (2 loaders)', () => Promise.all([load(0, mid), load(mid + 1, DAYS - 1)]));
    await timed('signal indexes', async () => {
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
        sql`ALTER TABLE signals ADD CONSTRAINT signals_customer_id_kind_occurred_at_dedupe_key_key UNIQUE (customer_id, kind, occurred_at, dedupe_key)`.execute(h.db),
        (async () => {
          const other = createDb(URL_, silentLogger, 1);
          try {
            await sql`SET maintenance_work_mem = '512MB'`.execute(other.db);
            await sql`CREATE INDEX signals_kind_time_idx ON signals (kind, occurred_at)`.execute(other.db);
          } finally {
            await other.close();
          }
        })(),
      ]);
    });
    await timed('interactions and feedback', async () => {
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
    await timed('vacuum analyze', () => sql`VACUUM ANALYZE`.execute(h.db));
  } finally {
    await h.close();
  }
}

async function main(): Promise<void> {
  log(`rescore bench — ${CUSTOMERS.toLocaleString()} customers, ${SIGNALS.toLocaleString()} signals, batch ${BATCH}`);
  await generate();
  const counts = await (async () => {
    const h = createDb(URL_, silentLogger, 1);
    try {
      const r = await sql<{ s: string; size: string }>`
        SELECT (SELECT count(*) FROM signals) AS s, pg_size_pretty(pg_total_relation_size('signals_2025') + pg_total_relation_size('signals_2026') + pg_total_relation_size('signals_2027')) AS size`.execute(h.db);
      return r.rows[0]!;
    } finally {
      await h.close();
    }
  })();
  log(`book: ${Number(counts.s).toLocaleString()} signals (${counts.size} with indexes)`);

  const prefix = `bench_rescore_${process.pid}`;
  const config = loadConfig({
    DATABASE_URL: URL_,
    REDIS_URL,
    RETAIN_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  });
  const settings = { ...config.settings, scoring: { ...config.settings.scoring, batchSize: BATCH } };
  const benchFeatures = NO_HOOKS ? features.map((f) => ({ ...f, scoresWritten: [] })) : features;
  const running = await start({ roles: ['worker'], config: { ...config, settings }, logger: silentLogger, migrate: false, schedules: false, features: benchFeatures });
  const { ctx } = running;
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapTotal;
  let peakExternal = process.memoryUsage().external;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapTotal);
    peakExternal = Math.max(peakExternal, m.external);
  }, 100);
  const base = process.memoryUsage();
  log(`worker started: RSS ${mb(base.rss)} (V8 heap ${mb(base.heapTotal)}, external ${mb(base.external)})`);
  try {
    // Bare aggregate: warm the cache once, then time it.
    const bare = () =>
      sql`SELECT count(*), sum(n), max(mx), sum(sv) FROM (
            SELECT customer_id, count(*) AS n, max(occurred_at) AS mx, sum(value) AS sv FROM signals GROUP BY customer_id) t`.execute(ctx.db);
    log('\nbare aggregate (count, max, sum GROUP BY customer):');
    await timed('warm-up', bare);
    const [, bareMs] = await timed('timed', bare);

    log('\npurchase models:');
    const { fitModels } = await import('../src/scores/fit.service.js');
    const [fit] = await timed('fit (SQL grouping + BG/NBD + Gamma-Gamma)', () => fitModels(ctx.db, ctx.clock.now(), { store: true, now: ctx.clock.now() }));
    log(`    BG/NBD ${fit.bgnbd.patterns} patterns, ${fit.bgnbd.ms.toFixed(0)} ms; Gamma-Gamma ${fit.gammagamma.patterns} patterns, ${fit.gammagamma.ms.toFixed(0)} ms`);

    const runOnce = async (mode: 'full' | 'incremental') => {
      peakRss = process.memoryUsage().rss;
      peakHeap = process.memoryUsage().heapTotal;
      peakExternal = process.memoryUsage().external;
      log(`  before: RSS ${mb(peakRss)}, V8 heap ${mb(peakHeap)}`);
      const t0 = performance.now();
      const jobId = await ctx.queues!.add('rescore', { mode });
      for (;;) {
        const run = await sql<{ id: string; status: string; customers_scored: number; batches_total: number; batches_failed: number; started_at: Date; context: { preparedAt?: string; selected?: number } }>`
          SELECT id, status, customers_scored, batches_total, batches_failed, started_at, context FROM scoring_runs WHERE job_key = ${jobId ?? ''}`.execute(ctx.db);
        const r = run.rows[0];
        if (r && r.status !== 'running') {
          const ms = performance.now() - t0;
          const prepMs = r.context.preparedAt ? new Date(r.context.preparedAt).getTime() - new Date(r.started_at).getTime() : NaN;
          log(`  peak V8 heap ${mb(peakHeap)}, peak external ${mb(peakExternal)}`);
          return { ms, run: r, prepMs, peak: peakRss };
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    };

    log('\nfull rescore (rescore job → rescoreBatch jobs on BullMQ, worker in this process):');
    const full = await runOnce('full');
    log(`  ${full.run.status}: ${full.run.customers_scored.toLocaleString()} customers in ${full.run.batches_total} batches (${full.run.batches_failed} failed) — ${secs(full.ms)} (prepare: models, feeds, population ${secs(full.prepMs)})`);
    log(`  throughput ${Math.round(full.run.customers_scored / (full.ms / 1000)).toLocaleString()} customers/s; peak RSS ${mb(full.peak)}`);
    log(`  ratio full rescore / bare aggregate: ${(full.ms / bareMs).toFixed(2)}× (target ≤ 3×); RSS target < 300 MB: ${full.peak < 300 * 1024 * 1024 ? 'met' : 'NOT met'}`);

    log(`\nincremental run after ${CHANGED.toLocaleString()} customers get new signals:`);
    await sql`
      INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
      SELECT c, 'usage', now() - interval '1 hour', 10, 'new-' || c, 'bench-new'
      FROM generate_series(1, ${CHANGED}::int) AS g(c0), LATERAL (SELECT ((c0::bigint * 97) % ${CUSTOMERS}::bigint) + 1 AS c) x`.execute(ctx.db);
    await sql`
      UPDATE customers SET data_changed_at = now()
      WHERE id IN (SELECT ((c0::bigint * 97) % ${CUSTOMERS}::bigint) + 1 FROM generate_series(1, ${CHANGED}::int) AS g(c0))`.execute(ctx.db);
    const inc = await runOnce('incremental');
    log(`  ${inc.run.status}: ${inc.run.customers_scored.toLocaleString()} customers (selected ${inc.run.context.selected}) in ${inc.run.batches_total} batches — ${secs(inc.ms)} (prepare ${secs(inc.prepMs)}); peak RSS ${mb(inc.peak)}`);

    log('\nsummary');
    log(`  bare aggregate        ${secs(bareMs)}`);
    log(`  full rescore          ${secs(full.ms)}  (${(full.ms / bareMs).toFixed(2)}× bare)`);
    log(`  incremental (${CHANGED})  ${secs(inc.ms)}`);
    log(`  peak worker RSS       ${mb(Math.max(full.peak, inc.peak))}`);
  } finally {
    clearInterval(sampler);
    await running.stop();
    const { cleanQueuePrefix } = await import('../tests/helpers/db.js');
    await cleanQueuePrefix(prefix);
    if (!KEEP) await dropDatabase(URL_);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
