/**
 * Freshness benchmark: from a POST of signals to the owner's churn warning.
 *
 *   npx tsx bench/freshness.bench.ts [--customers 1000000] [--signals 10000000] [--collapse 10000]
 *     [--owners 1000] [--batch 500] [--concurrency 8] [--global-per-second N] [--reuse] [--keep]
 *
 * 1. A book already scored: customers and signals generated in SQL
 *    (bench/book.ts), owners with their own alert channel each, then one full
 *    run in this process with no hooks (no warnings for the book as it is).
 *    --reuse keeps a book from an earlier run (its API signals, alerts and
 *    messages removed, the customers they touched rescored).
 * 2. `retain start` in a child process (web + worker, 256 MB heap cap like
 *    bin/retain.js), its Slack Web API pointed at the Slack double, which
 *    enforces one message per second per channel (429 + Retry-After).
 * 3. Collapse signals (complaints, failed payments, NPS 0, a usage cliff) for
 *    --collapse customers through POST /api/v1/events, --batch items per
 *    request, --concurrency requests at a time, as fast as the API accepts
 *    them (a 503 is retried after its Retry-After). For each customer: the
 *    time from the POST that carried its signals to its warning posted in
 *    its owner's channel — p50, p95, max — and duplicates (0 expected).
 * 4. On the idle system, one account's signals → its warning, three times.
 * 5. Scoring runs started, and the child's peak RSS.
 *
 * Targets: p95 ≤ 30 s, max ≤ 60 s; idle ≤ 10 s; 0 duplicate warnings.
 * --global-per-second sets pacing.globalPerSecond (the workspace-wide post
 * rate retain allows itself; default 40 — the double enforces only the
 * per-channel limit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { features } from '../src/features.js';
import { buildContext } from '../src/main.js';
import type { Database } from '../src/platform/database.js';
import { createDb, dropDatabase } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { fitModels } from '../src/scores/fit.service.js';
import { rescoreNow } from '../src/scores/rescore.runner.js';
import { cleanQueuePrefix } from '../tests/helpers/db.js';
import { startSlackDouble, type SlackDouble } from '../tests/helpers/slack-double.js';
import { generateBook, timed as timedStep } from './book.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const CUSTOMERS = opt('customers', 1_000_000);
const SIGNALS = opt('signals', 10_000_000);
const COLLAPSE = Math.min(opt('collapse', 10_000), Math.floor(CUSTOMERS / 2));
const OWNERS = opt('owners', 1_000);
const BATCH = opt('batch', 500);
const CONCURRENCY = opt('concurrency', 8);
const GLOBAL_PER_SECOND = opt('global-per-second', 0);
const REUSE = args.includes('--reuse');
const KEEP = args.includes('--keep');
const TEAMS = 10;
const PORT = opt('port', 39_170);

const BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const URL_ = `${BASE}/retain_bench_freshness`;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = 'bench-freshness-token-0123456789';
const BOT_TOKEN = 'xoxb-bench';
const SIGNING_SECRET = 'bench-signing-secret-0123456789';

const log = (line: string) => console.log(line);
const timed = <T>(label: string, fn: () => Promise<T>) => timedStep(log, label, fn);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DAY = 86_400_000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Teams, one member per owner with their own alert channel, and every customer owned. */
async function ensureOwners(db: Kysely<Database>): Promise<void> {
  const have = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members WHERE slack_user_id LIKE 'UB%'`.execute(db);
  if (have.rows[0]!.n === OWNERS) return;
  await timed(`${OWNERS} owners in ${TEAMS} teams, every customer owned`, async () => {
    await sql`
      INSERT INTO teams (key, name, channel_id, tz)
      SELECT 'bt' || t, 'Bench team ' || t, 'CBT' || lpad(t::text, 3, '0'), 'UTC' FROM generate_series(0, ${TEAMS - 1}::int) t
      ON CONFLICT (key) DO NOTHING`.execute(db);
    await sql`
      INSERT INTO members (slack_user_id, team_id, role, alert_channel_id)
      SELECT 'UB' || lpad(i::text, 5, '0'), (SELECT id FROM teams WHERE key = 'bt' || (i % ${TEAMS}::int)), 'rep', 'CB' || lpad(i::text, 5, '0')
      FROM generate_series(0, ${OWNERS - 1}::int) i
      ON CONFLICT (slack_user_id) DO NOTHING`.execute(db);
    await sql`
      WITH m AS (SELECT id, team_id, row_number() OVER (ORDER BY slack_user_id) - 1 AS k FROM members WHERE slack_user_id LIKE 'UB%')
      UPDATE customers c SET owner_member_id = m.id, team_id = m.team_id, owner_since = now() - interval '100 days'
      FROM m WHERE m.k = c.id % ${OWNERS}::int`.execute(db);
    await sql`VACUUM ANALYZE customers`.execute(db);
  });
}

/** The book as a bench left it → as it was scored: API signals, alerts and messages gone, touched customers rescored (no hooks). */
async function resetAfterEarlierRun(db: Kysely<Database>): Promise<string[]> {
  const touched = await sql<{ id: string }>`SELECT DISTINCT customer_id::text AS id FROM signals WHERE source = 'api'`.execute(db);
  await sql`DELETE FROM signals WHERE source = 'api'`.execute(db);
  await sql`DELETE FROM notifications`.execute(db);
  await sql`DELETE FROM alerts`.execute(db);
  await sql`DELETE FROM run_population`.execute(db);
  await sql`UPDATE scoring_runs SET status = 'failed', finished_at = now() WHERE status = 'running'`.execute(db);
  if (touched.rows.length)
    await sql`UPDATE customers SET data_changed_at = clock_timestamp() WHERE id = ANY(${touched.rows.map((r) => r.id)}::bigint[])`.execute(db);
  return touched.rows.map((r) => r.id);
}

/** One full run (or, on a reused book, an incremental one) in this process, with no scores-written hooks: the book is scored, nobody warned. */
async function scoreQuietly(mode: 'full' | 'incremental'): Promise<void> {
  const config = loadConfig({ DATABASE_URL: URL_, REDIS_URL, LOG_LEVEL: 'warn' });
  const quiet = features.map((f) => ({ ...f, scoresWritten: [] }));
  const built = buildContext({ config, logger: silentLogger, withQueues: false, features: quiet });
  try {
    if (mode === 'full') await timed('purchase models', () => fitModels(built.ctx.db, built.ctx.clock.now(), { store: true, now: built.ctx.clock.now() }));
    const [r] = await timed(`${mode} run (no hooks)`, () => rescoreNow(built.ctx, { mode }));
    log(`    ${r.run.customers_scored.toLocaleString()} customers scored`);
  } finally {
    await built.close();
  }
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function startRetain(slack: SlackDouble, prefix: string): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'retain-bench-freshness-'));
  const settings: Record<string, unknown> = {};
  if (GLOBAL_PER_SECOND > 0) settings.pacing = { globalPerSecond: GLOBAL_PER_SECOND };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(settings));
  const child = spawn(process.execPath, ['--max-old-space-size=256', 'bin/retain.js', 'start'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      DATABASE_URL: URL_,
      REDIS_URL,
      RETAIN_QUEUE_PREFIX: prefix,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      API_TOKEN: TOKEN,
      PORT: String(PORT),
      RETAIN_CONFIG: join(dir, 'config.json'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += String(d);
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') log(`retain start exited (${code ?? signal}): ${stderr.slice(-2000)}`);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${PORT}/healthz`);
      if (res.ok) return child;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`retain start did not come up: ${stderr.slice(-2000)}`);
    await sleep(200);
  }
}

/** Collapse signals for one customer: complaints, failed payments, NPS 0, and a usage peak 45 days ago (a cliff in the last 30). */
function collapseOf(externalId: string, tag: string, now: number): Record<string, unknown>[] {
  const at = (days: number, h = 1) => new Date(now - days * DAY - h * 3600_000).toISOString();
  return [
    ...[1, 2, 3].map((d) => ({ customer_external_id: externalId, kind: 'complaint', occurred_at: at(d), external_id: `${tag}-c${d}` })),
    ...[2, 5].map((d) => ({ customer_external_id: externalId, kind: 'payment_failed', occurred_at: at(d), external_id: `${tag}-p${d}` })),
    { customer_external_id: externalId, kind: 'nps', occurred_at: at(1, 2), value: 0, external_id: `${tag}-nps` },
    { customer_external_id: externalId, kind: 'usage', occurred_at: at(45), value: 5000, external_id: `${tag}-peak` },
  ];
}

async function postEvents(items: Record<string, unknown>[]): Promise<{ sentAt: number; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    const sentAt = Date.now();
    const res = await fetch(`http://127.0.0.1:${PORT}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(items),
    });
    const body = await res.text();
    if (res.status === 200) return { sentAt, attempts: attempt };
    if (res.status !== 503 || attempt > 50) throw new Error(`POST /api/v1/events: ${res.status} ${body.slice(0, 300)}`);
    await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
  }
}

/** The warnings posted so far, by customer id: when each was posted, and how many times. */
function warningsByCustomer(slack: SlackDouble): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const p of slack.posted) {
    const key = String(p.metadata?.event_payload.key ?? '');
    const m = /^warning:(\d+):/.exec(key);
    if (!m) continue;
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), p.at]);
  }
  return out;
}

async function waitIdle(db: Kysely<Database>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await sql<{ runs: number; outbox: number }>`
      SELECT (SELECT count(*)::int FROM scoring_runs WHERE status = 'running') AS runs,
             (SELECT count(*)::int FROM notifications WHERE status IN ('pending', 'sending')) AS outbox`.execute(db);
    if (r.rows[0]!.runs === 0 && r.rows[0]!.outbox === 0) return;
    if (Date.now() > end) throw new Error(`not idle after ${timeoutMs} ms: ${JSON.stringify(r.rows[0])}`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  log(
    `freshness bench — ${CUSTOMERS.toLocaleString()} customers, ${SIGNALS.toLocaleString()} signals; ${COLLAPSE.toLocaleString()} collapse in batches of ${BATCH}, ${OWNERS} owners`,
  );
  const reused = await generateBook({ url: URL_, customers: CUSTOMERS, signals: SIGNALS, days: 365, reuse: REUSE, log });
  const h = createDb(URL_, silentLogger, 2);
  const db = h.db;
  const prefix = `bench_fresh_${process.pid}`;
  let child: ChildProcess | null = null;
  let slack: SlackDouble | null = null;
  try {
    await ensureOwners(db);
    const fullDone = await sql<{ n: number }>`SELECT count(*)::int AS n FROM scoring_runs WHERE kind = 'full' AND status = 'done'`.execute(db);
    if (reused === 'reused' && fullDone.rows[0]!.n > 0) {
      const touched = await resetAfterEarlierRun(db);
      log(`reused book: ${touched.length.toLocaleString()} customers touched by an earlier run reset`);
      if (touched.length) await scoreQuietly('incremental');
    } else {
      log('\nscoring the book (this process, no hooks):');
      await scoreQuietly('full');
    }

    slack = await startSlackDouble();
    slack.rateLimitMs = 1000;
    slack.retryAfterSeconds = 1;
    log(
      `\nretain start (child process; Slack double enforcing 1 message/s per channel${GLOBAL_PER_SECOND ? `; pacing.globalPerSecond ${GLOBAL_PER_SECOND}` : ''})`,
    );
    const t0 = Date.now();
    child = await startRetain(slack, prefix);
    log(`  up in ${secs(Date.now() - t0)}; RSS ${mb(rssKb(child.pid!))}`);
    let peakRss = rssKb(child.pid!);
    const pid = child.pid!;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssKb(pid));
    }, 200);
    try {
      // The worker's start-up catch-up (customers never scored: those with no data) settles first.
      await sleep(1000);
      await waitIdle(db, 120_000);

      // The collapse set: spread over the book, the same number for every owner (owner = id mod owners).
      const perOwner = Math.max(1, Math.floor(COLLAPSE / OWNERS));
      const spread = Math.max(1, Math.floor(CUSTOMERS / OWNERS / perOwner) - 1);
      const picked = await sql<{ id: string; external_id: string }>`
        SELECT c.id::text AS id, c.external_id
        FROM generate_series(0, ${OWNERS - 1}::int) AS o, generate_series(0, ${perOwner - 1}::int) AS j,
          LATERAL (SELECT id, external_id FROM customers WHERE id = o + ${OWNERS}::int * (j * ${spread}::int + 1)) c
        ORDER BY c.id LIMIT ${COLLAPSE}`.execute(db);
      const customers = picked.rows;
      const perBatch = Math.max(1, Math.floor(BATCH / 7));
      const batches: { ids: string[]; items: Record<string, unknown>[] }[] = [];
      const now = Date.now();
      for (let i = 0; i < customers.length; i += perBatch) {
        const slice = customers.slice(i, i + perBatch);
        batches.push({ ids: slice.map((c) => c.id), items: slice.flatMap((c) => collapseOf(c.external_id, `bench-${now}-${c.id}`, now)) });
      }
      const runsBefore = Number((await sql<{ id: string }>`SELECT coalesce(max(id), 0) AS id FROM scoring_runs`.execute(db)).rows[0]!.id);
      const postedAt = new Map<string, number>();
      log(
        `\nposting ${batches.length} batches (${(customers.length * 7).toLocaleString()} signals for ${customers.length.toLocaleString()} customers), ${CONCURRENCY} at a time…`,
      );
      const burstStart = Date.now();
      let next = 0;
      let retries = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < batches.length) {
            const b = batches[next++]!;
            const r = await postEvents(b.items);
            retries += r.attempts - 1;
            for (const id of b.ids) postedAt.set(id, r.sentAt);
          }
        }),
      );
      const burstMs = Date.now() - burstStart;
      log(`  accepted in ${secs(burstMs)} (${Math.round((customers.length * 7) / (burstMs / 1000)).toLocaleString()} signals/s; ${retries} retries after 503)`);

      const deadline = Date.now() + 15 * 60_000;
      let lastReport = Date.now();
      for (;;) {
        const warned = warningsByCustomer(slack);
        const got = customers.filter((c) => warned.has(c.id)).length;
        if (got === customers.length) break;
        const idle = await sql<{ runs: number; outbox: number; pending: number }>`
          SELECT (SELECT count(*)::int FROM scoring_runs WHERE status = 'running') AS runs,
                 (SELECT count(*)::int FROM notifications WHERE status IN ('pending', 'sending')) AS outbox,
                 (SELECT count(*)::int FROM customers c JOIN customer_scores s ON s.customer_id = c.id
                   WHERE c.id = ANY(${customers.map((c) => c.id)}::bigint[]) AND c.data_changed_at > s.data_seen_at) AS pending`.execute(db);
        const st = idle.rows[0]!;
        if (Date.now() - lastReport > 10_000) {
          log(
            `  … ${got.toLocaleString()} warned after ${secs(Date.now() - burstStart)} (runs open ${st.runs}, outbox ${st.outbox}, customers not yet rescored ${st.pending})`,
          );
          lastReport = Date.now();
        }
        if (st.runs === 0 && st.outbox === 0 && st.pending === 0 && Date.now() - burstStart > 30_000) {
          log(`  settled with ${got.toLocaleString()} of ${customers.length.toLocaleString()} warned (the rules did not fire for the rest)`);
          break;
        }
        if (Date.now() > deadline) {
          log(`  gave up after 15 min with ${got.toLocaleString()} warned`);
          break;
        }
        await sleep(250);
      }
      await sleep(3000); // any duplicate would show up by now
      const warned = warningsByCustomer(slack);
      const lat: number[] = [];
      let duplicates = 0;
      for (const c of customers) {
        const ats = warned.get(c.id);
        if (!ats) continue;
        if (ats.length > 1) duplicates += ats.length - 1;
        lat.push(Math.min(...ats) - postedAt.get(c.id)!);
      }
      lat.sort((a, b) => a - b);
      const runs = await sql<{ kind: string; n: number; scored: number }>`
        SELECT kind, count(*)::int AS n, sum(customers_scored)::int AS scored FROM scoring_runs WHERE id > ${runsBefore} GROUP BY kind`.execute(db);
      const runTimes = await sql<{ id: string; selected: string | null; scored: number; prep: number | null; total: number | null }>`
        SELECT id::text, context->>'selected' AS selected, customers_scored AS scored,
          extract(epoch FROM ((context->>'preparedAt')::timestamptz - started_at)) AS prep,
          extract(epoch FROM (finished_at - started_at)) AS total
        FROM scoring_runs WHERE id > ${runsBefore} ORDER BY id`.execute(db);
      const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      log(`\nburst: ${lat.length.toLocaleString()} of ${customers.length.toLocaleString()} customers warned`);
      log(
        `  POST → warning posted: p50 ${fmt(percentile(lat, 50))}, p95 ${fmt(percentile(lat, 95))}, max ${fmt(lat.at(-1) ?? NaN)}  (targets: p95 ≤ 30 s, max ≤ 60 s)`,
      );
      log(`  duplicate warnings: ${duplicates}; Slack 429s: ${slack.rateLimited}`);
      log(`  scoring runs started: ${runs.rows.map((r) => `${r.n} ${r.kind} (${r.scored.toLocaleString()} customers scored)`).join(', ') || 'none'}`);
      for (const r of runTimes.rows)
        log(
          `    run ${r.id}: selected ${r.selected ?? '?'}, scored ${r.scored}, prepare ${Number(r.prep ?? NaN).toFixed(1)} s, total ${Number(r.total ?? NaN).toFixed(1)} s`,
        );

      log('\nidle system: one account’s signals → its warning');
      await waitIdle(db, 300_000);
      const idleLat: number[] = [];
      const spare = await sql<{ id: string; external_id: string }>`
        SELECT c.id::text AS id, c.external_id FROM customers c
        WHERE c.id % ${Math.max(1, Math.floor(CUSTOMERS / COLLAPSE))}::int = 3 AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.customer_id = c.id)
        ORDER BY c.id LIMIT 3`.execute(db);
      for (const c of spare.rows) {
        await sleep(6000); // past the previous debounce window: a quiet system
        const { sentAt } = await postEvents(collapseOf(c.external_id, `bench-idle-${Date.now()}-${c.id}`, Date.now()));
        const end = Date.now() + 120_000;
        let at: number | undefined;
        while (!at && Date.now() < end) {
          at = warningsByCustomer(slack).get(c.id)?.[0];
          if (!at) await sleep(50);
        }
        if (at) idleLat.push(at - sentAt);
        log(`  ${c.external_id}: ${at ? fmt(at - sentAt) : 'no warning in 120 s'}  (target ≤ 10 s)`);
      }
      log(`\npeak RSS of retain start: ${mb(peakRss)}`);
      log('\nsummary');
      log(`  book                      ${CUSTOMERS.toLocaleString()} customers, ${OWNERS} owners (one channel each)`);
      log(
        `  burst                     ${customers.length.toLocaleString()} customers, ${batches.length} POSTs of ≤ ${BATCH} items, accepted in ${secs(burstMs)}`,
      );
      log(
        `  POST → warning            p50 ${fmt(percentile(lat, 50))}  p95 ${fmt(percentile(lat, 95))}  max ${fmt(lat.at(-1) ?? NaN)}  (${lat.length} warned)`,
      );
      log(`  idle POST → warning       ${idleLat.map(fmt).join(', ')}`);
      log(`  duplicates                ${duplicates}`);
      log(`  runs started              ${runs.rows.map((r) => `${r.n} ${r.kind}`).join(', ')}`);
      log(`  peak RSS (retain start)   ${mb(peakRss)}`);
    } finally {
      clearInterval(sampler);
    }
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await slack?.close();
    await cleanQueuePrefix(prefix);
    await h.close();
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
