/**
 * Rescore benchmark.
 *
 *   npx tsx bench/rescore.bench.ts [--customers 1000000] [--signals 20000000] [--batch 2000] [--workers N] [--keep] [--reuse] [--no-hooks]
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
 * --workers N runs the full rescore on N separate `retain worker` processes
 * (the compiled CLI, `npm run build` first) instead of a worker in this
 * process: the scoring queue is paused while they start, so all of them are
 * taking batches when the run (the start-up run the first worker queues)
 * begins. Prints the wall time, customers/s, each worker's share of the
 * batches (from its own /metrics) and its peak RSS (VmHWM). No incremental
 * run in this mode.
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
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { features } from '../src/features.js';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { buildContext, start } from '../src/main.js';
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
const WORKERS = opt('workers', 0);
const CHANGED = Math.min(10_000, CUSTOMERS);
const DAYS = 365;

const BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
// Its own database in --workers mode: a kept book is not another run's to reset.
const URL_ = `${BASE}/retain_bench_rescore${WORKERS > 0 ? '_workers' : ''}`;
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
  if (WORKERS > 0) {
    try {
      await runOnWorkerProcesses(prefix);
    } finally {
      const { cleanQueuePrefix } = await import('../tests/helpers/db.js');
      await cleanQueuePrefix(prefix);
      if (!KEEP) await dropDatabase(URL_);
    }
    return;
  }
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

/** A `retain worker` process of the compiled CLI, with the heap flags the launcher would give it (so this pid is the worker). */
interface WorkerProcess {
  child: ChildProcess;
  metricsPort: number;
}

function startWorkerProcess(prefix: string, configPath: string): Promise<WorkerProcess> {
  const bin = fileURLToPath(new URL('../bin/retain.js', import.meta.url));
  const child = spawn(process.execPath, ['--max-old-space-size=256', '--max-semi-space-size=16', bin, 'worker'], {
    env: {
      ...process.env,
      DATABASE_URL: URL_,
      REDIS_URL,
      RETAIN_QUEUE_PREFIX: prefix,
      RETAIN_CONFIG: configPath,
      METRICS_PORT: '0',
      // Warnings with nowhere to go (the bench book has no owners or teams) would log a line each.
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += String(d);
      const m = /metrics on port (\d+)/.exec(stderr);
      if (m) resolve({ child, metricsPort: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`worker exited ${code}: ${stderr}`)));
  });
}

async function scrape(port: number): Promise<{ batches: number; customers: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    batches: value(/^retain_jobs_total\{(?=[^}]*job="rescoreBatch")(?=[^}]*outcome="completed")[^}]*\} (\d+)/m),
    customers: value(/^retain_customers_scored_total\{kind="full"\} (\d+)/m),
  };
}

/** CPU seconds a process has used so far (Linux: utime + stime, in clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0; // gone meanwhile (a parallel query's helper)
  }
}

/** Peak resident set of a process so far (Linux). */
function peakRssOf(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function runOnWorkerProcesses(prefix: string): Promise<void> {
  const h = createDb(URL_, silentLogger, 2);
  const dir = mkdtempSync(join(tmpdir(), 'retain-bench-workers-'));
  const configPath = join(dir, 'config.json');
  // No cron fires during the bench; the run is the one the first worker queues at start.
  const never = '0 0 1 1 *';
  writeFileSync(
    configPath,
    JSON.stringify({ scoring: { batchSize: BATCH }, schedules: { rescoreIncremental: never, rescoreFull: never, fit: never, renewalScan: never } }),
  );
  const config = loadConfig({ DATABASE_URL: URL_, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  const producer = buildContext({ config, logger: silentLogger, features });
  const workers: WorkerProcess[] = [];
  try {
    log('\npurchase models:');
    const { fitModels } = await import('../src/scores/fit.service.js');
    await timed('fit (SQL grouping + BG/NBD + Gamma-Gamma)', () => fitModels(h.db, new Date(), { store: true, now: new Date() }));

    const scoring = producer.ctx.queues!.queue('scoring');
    await scoring.pause();
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorkerProcess(prefix, configPath));
    const queued = async () => {
      const c = await scoring.getJobCounts('waiting', 'prioritized');
      return (c.waiting ?? 0) + (c.prioritized ?? 0);
    };
    // The first worker's start-up run (the book was never scored); ask for one only if it did not.
    const end = Date.now() + 10_000;
    while ((await queued()) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    if ((await queued()) === 0) await producer.ctx.queues!.add('rescore', { mode: 'full' });
    log(`\nfull rescore on ${WORKERS} worker process${WORKERS === 1 ? '' : 'es'} (pids ${workers.map((w) => w.child.pid).join(', ')}):`);
    const t0 = performance.now();
    await scoring.resume();
    let run:
      | {
          id: string;
          status: string;
          customers_scored: number;
          batches_total: number;
          batches_failed: number;
          started_at: Date;
          finished_at: Date | null;
          context: { preparedAt?: string };
        }
      | undefined;
    for (;;) {
      const r = await sql<NonNullable<typeof run>>`
        SELECT id, status, customers_scored, batches_total, batches_failed, started_at, finished_at, context FROM scoring_runs WHERE kind = 'full' ORDER BY id DESC LIMIT 1`.execute(
        h.db,
      );
      run = r.rows[0];
      if (run && run.status !== 'running') break;
      for (const w of workers) if (w.child.exitCode !== null) throw new Error('a worker process exited during the run');
      await new Promise((res) => setTimeout(res, 100));
    }
    const ms = performance.now() - t0;
    const prepMs = run.context.preparedAt ? new Date(run.context.preparedAt).getTime() - new Date(run.started_at).getTime() : NaN;
    // A batch's job completes just after its commit (the last one closed the run): wait for the counters to say so.
    let shares = await Promise.all(workers.map((w) => scrape(w.metricsPort)));
    for (let i = 0; i < 50 && shares.reduce((n, s) => n + s.batches, 0) < run.batches_total; i++) {
      await new Promise((res) => setTimeout(res, 100));
      shares = await Promise.all(workers.map((w) => scrape(w.metricsPort)));
    }
    const peaks = workers.map((w) => peakRssOf(w.child.pid!));
    // Where the CPU went: the workers, and the Postgres backends serving this database (the workers' pools).
    const workerCpu = workers.reduce((n, w) => n + cpuSecondsOf(w.child.pid!), 0);
    const backends = await sql<{ pid: number }>`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`.execute(h.db);
    const pgCpu = backends.rows.reduce((n, b) => n + cpuSecondsOf(b.pid), 0);
    log(
      `  ${run.status}: ${run.customers_scored.toLocaleString()} customers in ${run.batches_total} batches (${run.batches_failed} failed) — ${secs(ms)} (prepare ${secs(prepMs)})`,
    );
    log(`  throughput ${Math.round(run.customers_scored / (ms / 1000)).toLocaleString()} customers/s`);
    shares.forEach((s, i) =>
      log(
        `  worker ${i + 1}: ${s.batches} batches (${((100 * s.batches) / Math.max(1, run!.batches_total)).toFixed(0)}%), ${s.customers.toLocaleString()} customers; peak RSS ${mb(peaks[i]!)}`,
      ),
    );
    log(
      `  CPU: workers ${workerCpu.toFixed(0)} s, their ${backends.rows.length} Postgres backends ${pgCpu.toFixed(0)} s, over ${secs(ms)} of wall time on ${cpus().length} cores`,
    );
    log(
      `  load average after the run: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    for (const w of workers) {
      if (w.child.exitCode !== null) continue;
      const exited = new Promise((r) => w.child.once('exit', r));
      w.child.kill('SIGTERM');
      await exited;
    }
    await producer.close();
    await h.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
