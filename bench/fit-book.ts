/**
 * The nightly fit on a large book in PostgreSQL (bench/fit.bench.ts --book):
 * generates the book with set-based SQL, then times what the `fit` job does —
 * purchase models, health model, renewal model — and samples this process's
 * RSS throughout.
 */
import { sql } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { buildContext } from '../src/main.js';
import { createDb, dropDatabase, ensureDatabase } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { migrateToLatest } from '../src/platform/migrate.js';
import { fitRenewals, formatRenewalFit } from '../src/renewals/renewal-model.service.js';
import { fitModels, formatFitReport } from '../src/scores/fit.service.js';
import { fitHealthModel, formatHealthFit } from '../src/scores/health-fit.service.js';
import { scoringConfigFrom } from '../src/scores/scoring.config.js';

const BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const URL_ = `${BASE}/retain_bench_fit`;
const HISTORY_DAYS = 450;
const SIGNALS_PER_CUSTOMER = 16;

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

async function generate(customers: number, reuse: boolean): Promise<void> {
  if (!reuse) await dropDatabase(URL_).catch(() => undefined);
  await ensureDatabase(URL_);
  const h = createDb(URL_, silentLogger, 2);
  try {
    await migrateToLatest(h.db);
    const have = await sql<{ c: string; s: string }>`SELECT (SELECT count(*) FROM customers) AS c, (SELECT count(*) FROM signals) AS s`.execute(h.db);
    if (reuse && Number(have.rows[0]!.c) === customers) {
      log(`reusing the book: ${customers.toLocaleString('en-US')} customers, ${Number(have.rows[0]!.s).toLocaleString('en-US')} signals`);
      await sql`DELETE FROM model_fits`.execute(h.db);
      return;
    }
    if (Number(have.rows[0]!.c) > 0) {
      await h.close();
      await dropDatabase(URL_);
      return generate(customers, false);
    }
    log(`generating ${customers.toLocaleString('en-US')} customers and their signals over ${HISTORY_DAYS} days…`);
    await sql`SET maintenance_work_mem = '256MB'`.execute(h.db);
    // A latent risk per customer drives both churn and the signals, so the
    // history holds something to learn. Deterministic: seeded random().
    await timed('customers', async () => {
      await sql`SELECT setseed(0.42)`.execute(h.db);
      await sql`
        CREATE UNLOGGED TABLE bench_latent AS
        SELECT i AS n, random() AS risk, random() AS u_start, random() AS u_churn, random() AS u_frac
        FROM generate_series(1, ${customers}::int) AS i`.execute(h.db);
      await sql`
        INSERT INTO customers (external_id, name, plan, arr, status, started_at, churned_at, created_at, data_changed_at)
        SELECT 'F' || l.n, 'Fit bench ' || l.n, p.plan, p.arr,
          CASE WHEN c.churn_at <= now() THEN 'churned' ELSE 'active' END,
          s.started_at, CASE WHEN c.churn_at <= now() THEN c.churn_at END,
          now() - interval '460 days', now() - interval '1 day'
        FROM bench_latent l,
        LATERAL (SELECT CASE WHEN l.n % 10 = 0 THEN 'enterprise' WHEN l.n % 10 < 5 THEN 'pro' ELSE 'starter' END AS plan,
                        (CASE WHEN l.n % 10 = 0 THEN 120000 WHEN l.n % 10 < 5 THEN 24000 ELSE 6000 END * (0.5 + l.u_frac))::numeric(14, 2) AS arr) p,
        LATERAL (SELECT now() - make_interval(days => (30 + floor(l.u_start * 1800))::int) AS started_at) s,
        -- Yearly churn θ rising with the risk, spread across customers as the
        -- sBG assumes (a Kumaraswamy(0.8, 3) draw, Beta-like: mean ≈ 0.24;
        -- lower for enterprise). The contract year that is not renewed is
        -- geometric(θ); the churn is recorded at its renewal date, up to 30
        -- days ahead (notice given), as contractual churn happens.
        LATERAL (SELECT least(0.95, greatest(0.001, power(1 - power(1 - l.risk, 1.0 / 3), 1.0 / 0.8)) * CASE WHEN p.plan = 'enterprise' THEN 0.6 ELSE 1 END) AS theta) t,
        LATERAL (SELECT s.started_at + make_interval(years => greatest(1, ceil(ln(1 - l.u_churn * 0.999999) / ln(1 - t.theta)))::int)
                   - make_interval(days => floor(l.u_frac * 30)::int) AS churn_at) c`.execute(h.db);
    });
    await sql`ALTER TABLE signals DROP CONSTRAINT signals_pkey`.execute(h.db);
    await sql`ALTER TABLE signals DROP CONSTRAINT signals_customer_id_kind_occurred_at_dedupe_key_key`.execute(h.db);
    await sql`DROP INDEX signals_customer_time_cover_idx`.execute(h.db);
    await sql`DROP INDEX signals_kind_time_idx`.execute(h.db);
    // Each customer: SIGNALS_PER_CUSTOMER moments in the last HISTORY_DAYS days,
    // kept while under contract. The mix follows the latent risk, and sours in
    // the 90 days before a churn.
    const load = (from: number, to: number) => {
      const loader = createDb(URL_, silentLogger, 1);
      return sql`
        INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
        SELECT c.id, k.kind, g.at, k.value, 'b' || c.id || '-' || g.j, 'bench'
        FROM customers c
        JOIN bench_latent l ON l.n = substr(c.external_id, 2)::int
        CROSS JOIN LATERAL (
          SELECT j, now() - make_interval(secs => (random() * ${HISTORY_DAYS * 86400})::int) AS at, random() AS u, random() AS v
          FROM generate_series(1, ${SIGNALS_PER_CUSTOMER}::int) AS j
        ) g
        CROSS JOIN LATERAL (
          SELECT least(1, l.risk + CASE WHEN c.churned_at IS NOT NULL AND c.churned_at - g.at < interval '90 days' THEN 0.4 ELSE 0 END) AS r
        ) x
        CROSS JOIN LATERAL (
          SELECT
            CASE WHEN g.u < 0.45 THEN 'usage' WHEN g.u < 0.65 THEN 'order' WHEN g.u < 0.72 THEN 'nps'
                 WHEN g.u < 0.75 + 0.12 * x.r THEN 'complaint' WHEN g.u < 0.78 + 0.22 * x.r THEN 'payment_failed' ELSE 'ticket' END AS kind,
            CASE WHEN g.u < 0.45 THEN round((60 * (1 - 0.8 * x.r) * (0.7 + 0.6 * g.v))::numeric, 1)
                 WHEN g.u < 0.65 THEN round((50 + 500 * g.v)::numeric, 2)
                 WHEN g.u < 0.72 THEN least(10, greatest(0, round(10 - 9 * x.r + 3 * (g.v - 0.5))))::numeric
                 ELSE NULL END AS value
        ) k
        WHERE c.id BETWEEN ${from} AND ${to}
          AND g.at >= c.started_at AND (c.churned_at IS NULL OR g.at <= c.churned_at)`
        .execute(loader.db)
        .finally(() => loader.close());
    };
    const mid = Math.floor(customers / 2);
    await timed('signals (2 loaders)', () => Promise.all([load(1, mid), load(mid + 1, customers)]));
    await timed('signal indexes', async () => {
      const other = createDb(URL_, silentLogger, 1);
      try {
        await sql`SET maintenance_work_mem = '256MB'`.execute(other.db);
        await Promise.all([
          sql`CREATE INDEX signals_customer_time_cover_idx ON signals (customer_id, occurred_at) INCLUDE (kind, value)`.execute(h.db),
          sql`CREATE INDEX signals_kind_time_idx ON signals (kind, occurred_at)`.execute(other.db),
        ]);
        await Promise.all([
          sql`ALTER TABLE signals ADD PRIMARY KEY (id, occurred_at)`.execute(h.db),
          sql`ALTER TABLE signals ADD CONSTRAINT signals_customer_id_kind_occurred_at_dedupe_key_key UNIQUE (customer_id, kind, occurred_at, dedupe_key)`.execute(
            other.db,
          ),
        ]);
      } finally {
        await other.close();
      }
    });
    await sql`DROP TABLE bench_latent`.execute(h.db);
    await timed('vacuum analyze', () => sql`VACUUM ANALYZE`.execute(h.db));
  } finally {
    await h.close();
  }
}

export async function benchBook(args: string[]): Promise<void> {
  const opt = (name: string, def: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const customers = opt('customers', 1_000_000);
  const keep = args.includes('--keep');
  log(`fit bench, book in PostgreSQL — ${customers.toLocaleString('en-US')} customers`);
  await generate(customers, args.includes('--reuse'));
  const built = buildContext({ config: loadConfig({ DATABASE_URL: URL_, LOG_LEVEL: 'warn' }), logger: silentLogger, withQueues: false });
  const { ctx } = built;
  try {
    const book = await sql<{ c: string; churned: string; started: string; s: string }>`
      SELECT count(*) AS c, count(*) FILTER (WHERE status = 'churned') AS churned, count(started_at) AS started,
        (SELECT count(*) FROM signals) AS s FROM customers`.execute(ctx.db);
    const b = book.rows[0]!;
    log(
      `book: ${Number(b.c).toLocaleString('en-US')} customers (${Number(b.churned).toLocaleString('en-US')} churned), ${Number(b.s).toLocaleString('en-US')} signals`,
    );
    const settings = scoringConfigFrom(ctx.config.settings);
    const now = new Date();
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    const base = process.memoryUsage().rss;
    log(`\nthe nightly fit job (process RSS at start ${mb(base)}):`);
    const t0 = performance.now();
    const [purchase] = await timed('purchase models (BG/NBD, Gamma-Gamma)', () => fitModels(ctx.db, now, { store: true, now }));
    const [health, healthMs] = await timed(
      `health model (${settings.churnModel.origins} origins × ≤${settings.churnModel.sampleCustomers.toLocaleString('en-US')} customers, churn as the book records it)`,
      () => fitHealthModel(ctx.db, settings, now, { store: true, now }),
    );
    const [renewal, renewalMs] = await timed('renewal model (sBG by plan)', () =>
      fitRenewals(ctx.db, ctx.config.settings.renewals, now, { by: 'plan', kind: 'sbg', store: true, now }),
    );
    const total = performance.now() - t0;
    clearInterval(sampler);
    log(`  total ${secs(total)}; health + sBG ${secs(healthMs + renewalMs)} (target ≤ 5 min); peak RSS ${mb(peak)} (target ≤ 300 MB)`);
    for (const o of health.origins)
      log(`    origin ${o.asOf} (${o.role}): replayed ${o.replayed.toLocaleString('en-US')} of ${o.population.toLocaleString('en-US')}, ${secs(o.ms)}`);
    log('');
    for (const line of formatFitReport(purchase)) log(line);
    for (const line of formatHealthFit(health)) log(line);
    for (const line of formatRenewalFit(renewal)) log(line);
  } finally {
    await built.close();
    if (!keep) await dropDatabase(URL_).catch(() => undefined);
  }
}
