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
import { createDb, dropDatabase } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { generateBook, timed as timedStep } from './book.js';

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

const timed = <T>(label: string, fn: () => Promise<T>) => timedStep(log, label, fn);

async function generate(): Promise<void> {
  await generateBook({
    url: URL_,
    customers: CUSTOMERS,
    signals: SIGNALS,
    days: DAYS,
    reuse: REUSE,
    log,
    onReuse: async (db) => {
      await sql`DELETE FROM customer_scores`.execute(db);
      await sql`DELETE FROM scoring_runs`.execute(db);
      await sql`DELETE FROM model_fits`.execute(db);
      await sql`DELETE FROM signals WHERE source = 'bench-new'`.execute(db);
      await sql`DELETE FROM run_population`.execute(db);
      await sql`UPDATE customers SET data_changed_at = now() - interval '1 day'`.execute(db);
      await sql`VACUUM ANALYZE`.execute(db);
    },
  });
}

async function main(): Promise<void> {
  log(`rescore bench — ${CUSTOMERS.toLocaleString()} customers, ${SIGNALS.toLocaleString()} signals, batch ${BATCH}`);
  await generate();
  const counts = await (async () => {
    const h = createDb(URL_, silentLogger, 1);
    try {
      const r = await sql<{ s: string; size: string }>`
        SELECT (SELECT count(*) FROM signals) AS s, pg_size_pretty(pg_total_relation_size('signals_2025') + pg_total_relation_size('signals_2026') + pg_total_relation_size('signals_2027')) AS size`.execute(
        h.db,
      );
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
  const running = await start({
    roles: ['worker'],
    config: { ...config, settings },
    logger: silentLogger,
    migrate: false,
    schedules: false,
    features: benchFeatures,
  });
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
    log(
      `    BG/NBD ${fit.bgnbd.patterns} patterns, ${fit.bgnbd.ms.toFixed(0)} ms; Gamma-Gamma ${fit.gammagamma.patterns} patterns, ${fit.gammagamma.ms.toFixed(0)} ms`,
    );

    const runOnce = async (mode: 'full' | 'incremental') => {
      peakRss = process.memoryUsage().rss;
      peakHeap = process.memoryUsage().heapTotal;
      peakExternal = process.memoryUsage().external;
      log(`  before: RSS ${mb(peakRss)}, V8 heap ${mb(peakHeap)}`);
      const t0 = performance.now();
      const jobId = await ctx.queues!.add('rescore', { mode });
      for (;;) {
        const run = await sql<{
          id: string;
          status: string;
          customers_scored: number;
          batches_total: number;
          batches_failed: number;
          started_at: Date;
          context: { preparedAt?: string; selected?: number };
        }>`
          SELECT id, status, customers_scored, batches_total, batches_failed, started_at, context FROM scoring_runs WHERE job_key = ${jobId ?? ''}`.execute(
          ctx.db,
        );
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
    log(
      `  ${full.run.status}: ${full.run.customers_scored.toLocaleString()} customers in ${full.run.batches_total} batches (${full.run.batches_failed} failed) — ${secs(full.ms)} (prepare: models, feeds, population ${secs(full.prepMs)})`,
    );
    log(`  throughput ${Math.round(full.run.customers_scored / (full.ms / 1000)).toLocaleString()} customers/s; peak RSS ${mb(full.peak)}`);
    log(
      `  ratio full rescore / bare aggregate: ${(full.ms / bareMs).toFixed(2)}× (target ≤ 3×); RSS target < 300 MB: ${full.peak < 300 * 1024 * 1024 ? 'met' : 'NOT met'}`,
    );

    log(`\nincremental run after ${CHANGED.toLocaleString()} customers get new signals:`);
    await sql`
      INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
      SELECT c, 'usage', now() - interval '1 hour', 10, 'new-' || c, 'bench-new'
      FROM generate_series(1, ${CHANGED}::int) AS g(c0), LATERAL (SELECT ((c0::bigint * 97) % ${CUSTOMERS}::bigint) + 1 AS c) x`.execute(ctx.db);
    await sql`
      UPDATE customers SET data_changed_at = now()
      WHERE id IN (SELECT ((c0::bigint * 97) % ${CUSTOMERS}::bigint) + 1 FROM generate_series(1, ${CHANGED}::int) AS g(c0))`.execute(ctx.db);
    const inc = await runOnce('incremental');
    log(
      `  ${inc.run.status}: ${inc.run.customers_scored.toLocaleString()} customers (selected ${inc.run.context.selected}) in ${inc.run.batches_total} batches — ${secs(inc.ms)} (prepare ${secs(inc.prepMs)}); peak RSS ${mb(inc.peak)}`,
    );

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
