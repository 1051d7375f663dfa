import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildContext, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { BOT_TOKEN, SIGNING_SECRET } from '../helpers/app.js';
import { buildCompiledCli, ROOT } from '../helpers/compiled-cli.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';
import { seedRoster } from '../helpers/fixtures.js';
import { until } from '../helpers/interact.js';
import { startSlackDouble, type SlackDouble } from '../helpers/slack-double.js';

/**
 * Several workers, as production runs them: one `retain web` and three
 * `retain worker` processes of the compiled CLI on one database and one
 * Redis. A full rescore is shared among the workers (each takes batches, as
 * its own /metrics counts them), every customer is scored once per run, every
 * churn warning is posted once, each delivery posts its channel's messages in
 * outbox order — and a worker SIGKILLed mid-run loses and doubles nothing:
 * its batch is taken over once its lock lapses.
 */
const BIN = join(ROOT, 'bin', 'retain.js');
const TOKEN = 'workers-e2e-token-0123456789';
const CUSTOMERS = 1_200;
const BATCH = 30;
/**
 * Six customers in every forty (ids in a row, so a batch holds several per
 * channel) have stopped buying and complain: the first run warns them.
 */
const BAD = 'c.id % 40 < 6';
const never = '0 0 1 1 *';

let db: TestDb;
let slack: SlackDouble;
let prefix: string;
let configPath: string;
let producer: Built;
let webUrl: string;
const children: ChildProcess[] = [];
const workers: { child: ChildProcess; metricsPort: number }[] = [];

/**
 * A long-running verb of the compiled CLI, in this very process (the heap flags
 * the launcher would add are given here, so it does not start a second one
 * that a SIGKILL of this pid would leave running). Resolves with the line it
 * prints once it runs.
 */
function retain(verb: 'web' | 'worker', env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['--max-old-space-size=256', '--max-semi-space-size=16', BIN, verb], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL,
      RETAIN_QUEUE_PREFIX: prefix,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      RETAIN_CONFIG: configPath,
      LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`retain ${verb} did not start: ${stderr}`)), 30_000);
    child.stderr!.on('data', (d) => {
      stderr += String(d);
      const match = ready.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`retain ${verb} exited ${code}: ${stderr}`));
    });
  });
}

/** Batches this worker process finished, from its own /metrics. */
async function batchesDone(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = /^retain_jobs_total\{(?=[^}]*job="rescoreBatch")(?=[^}]*outcome="completed")[^}]*\} (\d+)/m.exec(text);
  return Number(m?.[1] ?? 0);
}

interface RunRow {
  id: string;
  status: string;
  batches_total: number;
  batches_done: number;
  batches_failed: number;
  customers_scored: number;
}
async function latestFullRun(): Promise<RunRow | undefined> {
  const r = await sql<RunRow>`
    SELECT id::text, status, batches_total, batches_done, batches_failed, customers_scored
    FROM scoring_runs WHERE kind = 'full' ORDER BY id DESC LIMIT 1`.execute(db.db);
  return r.rows[0];
}

/** Every customer scored exactly once by the run: one history row each (none missing, none extra), and it is their latest score. */
async function expectScoredOnce(run: RunRow): Promise<void> {
  expect(run.status).toBe('done');
  expect(run.batches_failed).toBe(0);
  expect(run.batches_done).toBe(run.batches_total);
  expect(run.batches_total).toBe(Math.ceil(CUSTOMERS / BATCH));
  expect(run.customers_scored).toBe(CUSTOMERS);
  const r = await sql<{ rows: number; customers: number; latest: number }>`
    SELECT (SELECT count(*)::int FROM score_history WHERE run_id = ${run.id}) AS rows,
           (SELECT count(DISTINCT customer_id)::int FROM score_history WHERE run_id = ${run.id}) AS customers,
           (SELECT count(*)::int FROM customer_scores WHERE run_id = ${run.id}) AS latest`.execute(db.db);
  expect(r.rows[0]).toEqual({ rows: CUSTOMERS, customers: CUSTOMERS, latest: CUSTOMERS });
}

/** No scoring job left queued or running: the run's last hooks (warnings) have run too — a dead worker's batch only after it is taken over. */
async function scoringIdle(): Promise<void> {
  await until(async () => {
    const c = await producer.ctx.queues!.queue('scoring').getJobCounts('active', 'waiting', 'prioritized');
    return Object.values(c).every((n) => n === 0);
  }, 60_000);
}

/**
 * Each warning in the outbox is posted once (none missing, none twice), and
 * each delivery job posted its channel's messages in outbox order. (Two
 * batches' deliveries to one channel take turns at the pacing gate, so
 * between them the order is whichever asks first — with one worker as with three.)
 */
async function expectWarningsPostedOnce(): Promise<number> {
  const rows = async () =>
    (
      await sql<{ id: string; dedupe_key: string; channel_id: string; delivery_job: string | null; status: string }>`
        SELECT id::text, dedupe_key, channel_id, delivery_job, status FROM notifications WHERE kind = 'churn_warning' ORDER BY id`.execute(db.db)
    ).rows;
  const all = await until(async () => {
    const r = await rows();
    return r.every((n) => n.status === 'sent') ? r : null;
  }, 60_000);
  // A moment for a doubled post (there must be none) to arrive.
  await new Promise((r) => setTimeout(r, 500));
  const posted = slack.posted.filter((p) => String(p.metadata?.event_payload.key ?? '').startsWith('warning:'));
  const keys = posted.map((p) => String(p.metadata!.event_payload.key));
  expect(keys.length).toBe(new Set(keys).size);
  expect([...keys].sort()).toEqual(all.map((n) => n.dedupe_key).sort());
  const byKey = new Map(all.map((n) => [n.dedupe_key, n]));
  for (const p of posted) expect(p.channel).toBe(byKey.get(String(p.metadata!.event_payload.key))!.channel_id);
  const sequences = new Map<string, number[]>();
  for (const p of posted) {
    const n = byKey.get(String(p.metadata!.event_payload.key))!;
    const k = `${n.channel_id}/${n.delivery_job}`;
    sequences.set(k, [...(sequences.get(k) ?? []), Number(n.id)]);
  }
  for (const ids of sequences.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));
  // A batch warns several customers of a channel: the order is put to the test.
  expect(Math.max(...[...sequences.values()].map((ids) => ids.length))).toBeGreaterThan(1);
  return all.length;
}

/** The book, in SQL: steady monthly buyers with weekly usage, touched lately; the BAD ones stopped buying long ago and complain. */
async function loadBook(): Promise<void> {
  const { emea, apac, alice } = await seedRoster(db);
  await sql`
    INSERT INTO customers (external_id, name, arr, currency, status, team_id, owner_member_id, created_at, data_changed_at)
    SELECT 'W' || i, 'Worker Test ' || i, 1000 + (i * 7919) % 90000, 'USD', 'active',
      CASE i % 3 WHEN 2 THEN ${apac.id}::int ELSE ${emea.id}::int END,
      CASE WHEN i % 3 = 0 THEN ${alice.id}::int END,
      now() - interval '500 days', now() - interval '1 day'
    FROM generate_series(1, ${CUSTOMERS}::int) AS i`.execute(db.db);
  await sql`
    INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
    SELECT c.id, 'order', now() - make_interval(days => d + (c.id::int % 11)), 200 + c.id % 300, 'o' || d, 'test'
    FROM customers c, generate_series(0, 390, 30) AS d
    WHERE NOT (${sql.raw(BAD)}) OR d > 240`.execute(db.db);
  await sql`
    INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
    SELECT c.id, 'usage', now() - make_interval(days => d), 20 + c.id % 7, 'u' || d, 'test'
    FROM customers c, generate_series(1, 89, 7) AS d
    WHERE NOT (${sql.raw(BAD)})`.execute(db.db);
  await sql`
    INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
    SELECT c.id, k.kind, now() - make_interval(days => k.d), k.v, 'b' || k.d || k.kind, 'test'
    FROM customers c, (VALUES ('complaint', 3, NULL), ('complaint', 9, NULL), ('complaint', 17, NULL),
                              ('payment_failed', 12, NULL), ('nps', 8, 1)) AS k(kind, d, v)
    WHERE ${sql.raw(BAD)}`.execute(db.db);
  await sql`
    INSERT INTO interactions (customer_id, author_slack_id, kind, note, occurred_at)
    SELECT c.id, 'U0ALICE', 'call', '', now() - make_interval(days => 5 + c.id::int % 20) FROM customers c WHERE NOT (${sql.raw(BAD)})`.execute(db.db);
  await sql`ANALYZE`.execute(db.db);
}

beforeAll(async () => {
  await buildCompiledCli();
  db = await createTestDb('workers');
  slack = await startSlackDouble();
  prefix = queuePrefix('workers');
  const dir = mkdtempSync(join(tmpdir(), 'retain-workers-'));
  configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      scoring: { batchSize: BATCH },
      // Fast pacing (the pacing has its own tests); no cron fires mid-test; a dead worker's batch is taken over in seconds.
      pacing: { perChannelMs: 20 },
      schedules: { rescoreIncremental: never, rescoreFull: never, fit: never, renewalScan: never, debounceMs: 200 },
      recovery: { jobLockMs: 4_000 },
    }),
  );
  const web = await retain('web', { PORT: '0', API_TOKEN: TOKEN }, /on port (\d+)/);
  webUrl = `http://127.0.0.1:${web.match[1]}`;
  for (let i = 0; i < 3; i++) {
    const w = await retain('worker', { METRICS_PORT: '0' }, /metrics on port (\d+)/);
    workers.push({ child: w.child, metricsPort: Number(w.match[1]) });
  }
  producer = buildContext({ config: loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' }), logger: silentLogger });
  // The book arrives once every worker is up (a worker's start-up run would otherwise begin before the others).
  await loadBook();
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }
  await producer?.close();
  await slack?.close();
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

describe('three worker processes and a web process on one database and Redis', () => {
  it('the first data through the web starts a full run that all three workers share; every customer scored once, every warning posted once, in order', async () => {
    const res = await fetch(`${webUrl}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify([{ customer_external_id: 'W1', kind: 'usage', occurred_at: new Date().toISOString(), value: 30, external_id: 'w1-now' }]),
    });
    expect(res.status).toBe(200);

    // A book never fully scored: the change brings the full run.
    const run = await until(async () => {
      const r = await latestFullRun();
      return r && r.status !== 'running' ? r : null;
    }, 60_000);
    await expectScoredOnce(run);
    await scoringIdle();

    // Every worker took batches; together they did each once (a job completes just after its batch commits).
    const shares = await until(async () => {
      const s = await Promise.all(workers.map((w) => batchesDone(w.metricsPort)));
      return s.reduce((a, b) => a + b, 0) >= run.batches_total ? s : null;
    }, 10_000);
    for (const s of shares) expect(s).toBeGreaterThan(0);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(run.batches_total);

    const warned = await expectWarningsPostedOnce();
    expect(warned).toBeGreaterThanOrEqual(((CUSTOMERS * 6) / 40) * 0.75);
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM alerts`.execute(db.db);
    expect(warned).toBe(r.rows[0]!.n);
  }, 120_000);

  it('SIGKILL of a worker mid-run: the run completes, no customer missing or scored twice, no warning posted twice', async () => {
    const first = (await latestFullRun())!;
    const warnedBefore = slack.posted.length;
    // Thirty more customers go bad (six in a row, in five batches): this run warns them.
    await sql`
      INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
      SELECT c.id, k.kind, now() - make_interval(hours => k.h), k.v, 'turn' || k.h || k.kind, 'test'
      FROM customers c, (VALUES ('complaint', 5, NULL), ('complaint', 30, NULL), ('complaint', 60, NULL), ('complaint', 90, NULL),
                                ('payment_failed', 10, NULL), ('payment_failed', 50, NULL), ('nps', 20, 0)) AS k(kind, h, v)
      WHERE c.id % 40 BETWEEN 10 AND 15 AND c.id <= 200`.execute(db.db);
    const before = await Promise.all(workers.map((w) => batchesDone(w.metricsPort)));
    // As the nightly schedule asks for it.
    await producer.ctx.queues!.add('rescore', { mode: 'full' });

    // Kill the first worker seen finishing a batch of this run, while the run still has batches to go.
    const victim = await until(async () => {
      const now = await Promise.all(workers.map((w) => batchesDone(w.metricsPort)));
      const i = now.findIndex((n, k) => n > before[k]!);
      return i >= 0 ? { i } : null;
    }, 30_000);
    const dead = workers[victim.i]!.child;
    const exited = new Promise((r) => dead.once('exit', r));
    dead.kill('SIGKILL');
    await exited;
    const atKill = (await latestFullRun())!;
    expect(atKill.id).not.toBe(first.id);
    expect(atKill.batches_done).toBeLessThan(atKill.batches_total);

    const run = await until(async () => {
      const r = await latestFullRun();
      return r && r.id === atKill.id && r.status !== 'running' ? r : null;
    }, 60_000);
    await expectScoredOnce(run);
    await scoringIdle();
    // The dead worker held a batch (it takes the next as it finishes one): another worker took it over.
    const batches = await producer.ctx.queues!.queue('scoring').getJobs(['completed'], 0, -1);
    const takenOver = batches.filter((j) => j.name === 'rescoreBatch' && j.data.runId === run.id && j.stalledCounter > 0);
    expect(takenOver.length).toBeGreaterThan(0);
    const warned = await expectWarningsPostedOnce();
    expect(slack.posted.length).toBeGreaterThan(warnedBefore);
    const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM alerts`.execute(db.db);
    expect(warned).toBe(r.rows[0]!.n);
  }, 120_000);
});
