import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildContext, start, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { rescoreNow } from '../../src/scores/rescore.runner.js';
import { runCli } from '../../src/cli.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';
import { loadEventsCsv } from '../helpers/fixtures.js';
import { until } from '../helpers/interact.js';
import { customerIdOf, loadBook, plantedBook } from './rescore.book.js';

/**
 * Incremental runs pick exactly the customers whose data their score did not
 * cover: a change that commits after a batch read the customer — even one
 * stamped before the run began — is scored by the next run, and a change a
 * batch saw is not scored again.
 */
const now = new Date();
let db: TestDb;
let built: Built;

const selected = (run: { context: Record<string, unknown> }) => (run.context as { selected: number }).selected;
const complaintsOf = async (id: string) => {
  const s = await db.db.selectFrom('customer_scores').select(['drivers', 'data_seen_at']).where('customer_id', '=', id).executeTakeFirstOrThrow();
  return { text: JSON.stringify(s.drivers), seen: s.data_seen_at };
};

beforeAll(async () => {
  db = await createTestDb('freshness');
  await loadBook(db, plantedBook(now), now);
  built = buildContext({ config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), logger: silentLogger, withQueues: false });
  await rescoreNow(built.ctx, { mode: 'full' });
});

afterAll(async () => {
  await built?.close();
  await db?.drop();
});

describe('incremental selection', () => {
  it('with nothing new since the full run, selects no one', async () => {
    const run = await rescoreNow(built.ctx, { mode: 'incremental' });
    expect(selected(run.run)).toBe(0);
  });

  it('a change committed after the batch read its customer, though stamped before the run began, is scored by the next run — and only once', async () => {
    const thrive = await customerIdOf(db, 'THRIVE');
    // THRIVE has new data, so the next run scores it…
    const stamp = new Date(Date.now() - 60_000).toISOString();
    await loadEventsCsv(db, `customer_external_id,kind,occurred_at,value,external_id\nTHRIVE,usage,${stamp},140,fresh-1\n`);

    // …while a writer that began before the run holds three complaints for it, uncommitted.
    const writer = new pg.Client({ connectionString: db.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO signals (customer_id, kind, occurred_at, dedupe_key, source)
         SELECT $1::bigint, 'complaint', now() - interval '1 hour', 'fresh-c' || g, 'api' FROM generate_series(1, 3) g`,
        [thrive],
      );
      await writer.query(`UPDATE customers SET data_changed_at = clock_timestamp() WHERE id = $1`, [thrive]);

      const during = await rescoreNow(built.ctx, { mode: 'incremental' });
      expect(selected(during.run)).toBe(1);
      // The run's score cannot know of the complaints: they were not committed when it read THRIVE.
      expect((await complaintsOf(thrive)).text).not.toMatch(/complaints? in 30 days/);
      await writer.query('COMMIT');
    } finally {
      await writer.end();
    }

    const after = await rescoreNow(built.ctx, { mode: 'incremental' });
    expect(selected(after.run)).toBe(1);
    expect((await complaintsOf(thrive)).text).toMatch(/3 complaints in 30 days/);

    const again = await rescoreNow(built.ctx, { mode: 'incremental' });
    expect(selected(again.run)).toBe(0);
  });

  it('stores the data_changed_at each score covers', async () => {
    const r = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM customer_scores s JOIN customers c ON c.id = s.customer_id
      WHERE s.data_seen_at IS DISTINCT FROM c.data_changed_at`.execute(db.db);
    expect(r.rows[0]!.n).toBe(0);
  });
});

describe('retain status', () => {
  it('prints the last runs, the score lag with the customers waiting, the outbox and the newest signal per source', async () => {
    await db.db.updateTable('customers').set({ data_changed_at: sql`clock_timestamp()` }).where('external_id', 'in', ['SLIP', 'GONE']).execute();
    const prefix = queuePrefix('freshstatus');
    const env = { DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', RETAIN_CONFIG: '' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const out: string[] = [];
    try {
      expect(await runCli(['status'], { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await cleanQueuePrefix(prefix);
    }
    const text = out.join('\n');
    expect(text).toMatch(/^ {2}scoring(\s+0){5}$/m);
    expect(text).toMatch(/last full\s+run \d+ done, started \d+ s ago, took \d+\.\d s: 30 customers scored/);
    expect(text).toMatch(/last incremental\s+run \d+ done/);
    expect(text).toMatch(/score lag: oldest unscored change \d+ s old \(2 customers waiting\)/);
    expect(text).toContain('outbox: 0 messages waiting, 0 failed');
    expect(text).toMatch(/newest signal per source: .*api \d+ s ago.*csv \d+ s ago.*slack feedback/);
  });
});

describe('rescore jobs after Redis lost its job counters', () => {
  it('a rescore job queued under a fresh prefix (Redis flushed, or the prefix changed) opens a run of its own', async () => {
    const runs: string[] = [];
    for (const label of ['freshjobsa', 'freshjobsb']) {
      const prefix = queuePrefix(label);
      const running = await start({
        roles: ['worker'],
        config: loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' }),
        logger: silentLogger,
        migrate: false,
        schedules: false,
      });
      try {
        await loadEventsCsv(
          db,
          `customer_external_id,kind,occurred_at,value,external_id\nGONE,usage,${new Date(Date.now() - 60_000).toISOString()},3,${label}-1\n`,
        );
        const jobId = (await running.ctx.queues!.add('rescore', { mode: 'incremental', reason: 'change' }))!;
        expect(jobId).not.toMatch(/^\d+$/);
        const run = await until(async () => {
          const r = await sql<{ id: string; status: string; customers_scored: number }>`
            SELECT id::text AS id, status, customers_scored FROM scoring_runs WHERE job_key = ${jobId} AND status <> 'running'`.execute(db.db);
          return r.rows[0];
        }, 20_000);
        expect(run.customers_scored).toBeGreaterThanOrEqual(1);
        const gone = await sql<{ current: boolean }>`
          SELECT s.data_seen_at = c.data_changed_at AS current FROM customers c JOIN customer_scores s ON s.customer_id = c.id
          WHERE c.external_id = 'GONE'`.execute(db.db);
        expect(gone.rows[0]!.current).toBe(true);
        runs.push(run.id);
      } finally {
        await running.stop();
        await cleanQueuePrefix(prefix);
      }
    }
    expect(new Set(runs).size).toBe(2);
  });
});

describe('incremental runs one at a time', () => {
  it('a rescore that starts while another incremental run is scoring waits in the delayed set until that run closes, then runs', async () => {
    const prefix = queuePrefix('freshserial');
    const running = await start({
      roles: ['worker'],
      config: loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' }),
      logger: silentLogger,
      migrate: false,
      schedules: false,
    });
    try {
      // Another incremental run, open and alive (its batches still to come).
      const other = await db.db
        .insertInto('scoring_runs')
        .values({ kind: 'incremental', as_of: new Date(), status: 'running', started_at: new Date(), finished_at: null, job_key: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      await loadEventsCsv(
        db,
        `customer_external_id,kind,occurred_at,value,external_id\nSLIP,usage,${new Date(Date.now() - 60_000).toISOString()},5,serial-1\n`,
      );
      const jobId = (await running.ctx.queues!.add('rescore', { mode: 'incremental', reason: 'change' }))!;
      const runOf = async () =>
        (
          await sql<{ id: string; status: string; selected: string | null }>`
          SELECT id::text AS id, status, context->>'selected' AS selected FROM scoring_runs WHERE job_key = ${jobId}`.execute(db.db)
        ).rows[0];
      // It waits in the delayed set while the other run is alive…
      await until(async () => (await running.ctx.queues!.queue('scoring').getJob(jobId))?.isDelayed(), 10_000);
      await new Promise((r) => setTimeout(r, 1_200));
      expect(await runOf()).toBeUndefined();
      // …and runs once it has closed.
      await db.db.updateTable('scoring_runs').set({ status: 'done', finished_at: new Date() }).where('id', '=', other.id).execute();
      const run = await until(async () => {
        const r = await runOf();
        return r && r.status !== 'running' ? r : undefined;
      }, 20_000);
      expect(Number(run.selected)).toBeGreaterThanOrEqual(1);
    } finally {
      await running.stop();
      await cleanQueuePrefix(prefix);
    }
  });
});
