import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotifications } from '../../src/alerts/outbox.service.js';
import { prepareRun } from '../../src/scores/rescore.prepare.service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { seedRoster } from '../helpers/fixtures.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { loadBook, plantedBook } from '../integration/rescore.book.js';
import { until } from './alerts.fixtures.js';

/**
 * Redis going away under a running retain, on a private redis-server (the
 * shared one is never flushed or stopped): restarted with its data while
 * deliveries run, and emptied (FLUSHALL) in the middle of a scoring run.
 * Every message reaches Slack once; schedules, the run and the deliveries
 * come back from Postgres without a restart.
 */
function configFile(settings: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'retain-redis-loss-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(settings));
  return join(dir, 'config.json');
}

const postedKeys = (app: TestApp, prefix: string) =>
  app.slack.posted.map((p) => String(p.metadata?.event_payload.key ?? '')).filter((k) => k.startsWith(prefix));
const health = async (app: TestApp) => {
  const res = await fetch(`${app.baseUrl}/healthz`);
  return { status: res.status, body: (await res.json()) as { checks: Record<string, { ok: boolean; error?: string }> } };
};

describe('Redis restarted with its data mid-delivery', () => {
  let redis: PrivateRedis;
  let app: TestApp;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    app = await startTestApp('redisrestart', {
      roles: ['web', 'worker'],
      env: { REDIS_URL: redis.url, RETAIN_CONFIG: configFile({ pacing: { perChannelMs: 250 }, recovery: { redisCheckMs: 500 } }) },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
  });

  it('every message is posted once, and none burns a try on the outage', async () => {
    app.slack.rateLimitMs = 250;
    app.slack.postLatencyMs = 300; // posts in flight while Redis goes away
    const channels = ['C0RSTA', 'C0RSTB', 'C0RSTC'];
    const keys = Array.from({ length: 36 }, (_, i) => `restart-${i}`);
    await enqueueNotifications(
      app.running.ctx,
      keys.map((k, i) => ({ dedupeKey: k, kind: 'test', channel: channels[i % 3]!, text: k })),
    );
    await app.slack.waitFor(() => postedKeys(app, 'restart-').length >= 4, 20_000);

    // The restart outlasts the jobs' locks (as a slow restart would): drop them, save, come back with the data.
    const c = redis.client();
    for (const id of await c.lrange(`${app.prefix}:delivery:active`, 0, -1)) await c.pexpire(`${app.prefix}:delivery:${id}:lock`, 1);
    await redis.shutdown(true);
    await new Promise((r) => setTimeout(r, 300));
    await redis.restart();

    await app.slack.waitFor(() => postedKeys(app, 'restart-').length >= keys.length, 60_000);
    await until(async () => (await app.db.db.selectFrom('notifications').select('status').execute()).every((r) => r.status === 'sent'), 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const posted = postedKeys(app, 'restart-');
    expect(posted).toHaveLength(keys.length); // none twice
    expect([...posted].sort()).toEqual([...keys].sort()); // none missing
    const rows = await app.db.db.selectFrom('notifications').select(['dedupe_key', 'attempts', 'message_ts']).execute();
    expect(rows.filter((r) => r.attempts !== 1)).toEqual([]);
  }, 120_000);
});

describe('Redis emptied (FLUSHALL) in the middle of a scoring run and its deliveries', () => {
  let redis: PrivateRedis;
  let app: TestApp;
  const now = new Date();
  beforeAll(async () => {
    redis = await startPrivateRedis();
    app = await startTestApp('redisflush', {
      roles: ['web', 'worker'],
      env: {
        REDIS_URL: redis.url,
        RETAIN_CONFIG: configFile({ pacing: { perChannelMs: 250 }, recovery: { redisCheckMs: 1_500 }, scoring: { batchSize: 10 } }),
      },
    });
    const { emea } = await seedRoster(app.db);
    await loadBook(app.db, plantedBook(now, { fillers: 57 }), now);
    await sql`UPDATE customers SET team_id = ${emea.id}`.execute(app.db.db);
  });
  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
  });

  it('schedules come back, the run finishes and every message is delivered once, without a restart', async () => {
    app.slack.rateLimitMs = 250;
    const queues = app.running.ctx.queues!;
    const schedulers = async () => {
      const all = await Promise.all((['scoring', 'delivery', 'scans'] as const).map((q) => queues.queue(q).getJobSchedulers(0, -1)));
      return all
        .flat()
        .map((s) => s.key)
        .sort();
    };
    const before = await schedulers();
    expect(before).toEqual(expect.arrayContaining(['outbox-sweep', 'run-watchdog', 'rescore-full']));

    // A prepared run whose batch jobs have not been added yet, and deliveries under way.
    const prepared = await prepareRun(app.running.ctx, { mode: 'full', asOf: now, jobKey: 'flushed-run' });
    expect(prepared.batches).toBeGreaterThan(3);
    const channels = ['C0FLA', 'C0FLB', 'C0FLC'];
    const keys = Array.from({ length: 24 }, (_, i) => `flush-${i}`);
    await enqueueNotifications(
      app.running.ctx,
      keys.map((k, i) => ({ dedupeKey: k, kind: 'test', channel: channels[i % 3]!, text: k })),
    );
    await app.slack.waitFor(() => postedKeys(app, 'flush-').length >= 3, 20_000);

    await redis.client().flushall();
    // Until a worker notices and restores, /healthz says what is wrong.
    const during = await health(app);
    expect(during.status).toBe(503);
    expect(during.body.checks.redis_data?.error).toMatch(/Redis lost its data/);

    // (each team's digest schedule comes back too: the teams were added after start)
    // Schedules come back one by one (the teams' digests among them): wait for every one held before.
    await until(async () => {
      const now = new Set(await schedulers());
      return before.every((name) => now.has(name));
    }, 20_000);
    expect(await schedulers()).toEqual(expect.arrayContaining(before));
    await until(
      async () => (await app.db.db.selectFrom('scoring_runs').select('status').where('id', '=', prepared.run.id).executeTakeFirstOrThrow()).status === 'done',
      30_000,
    );
    await app.slack.waitFor(() => postedKeys(app, 'flush-').length >= keys.length, 30_000);
    await until(async () => (await app.db.db.selectFrom('notifications').select('status').execute()).every((r) => r.status === 'sent'), 30_000);
    await new Promise((r) => setTimeout(r, 1_000));

    const all = app.slack.posted.map((p) => String(p.metadata?.event_payload.key ?? ''));
    expect(all.length).toBe(new Set(all).size); // nothing posted twice, warnings from the run included
    expect([...postedKeys(app, 'flush-')].sort()).toEqual([...keys].sort());
    const batches = await sql<{ n: string; distinct_n: string }>`
      SELECT count(*) AS n, count(DISTINCT batch) AS distinct_n FROM scoring_run_batches WHERE run_id = ${prepared.run.id}`.execute(app.db.db);
    expect(Number(batches.rows[0]!.n)).toBe(prepared.batches);
    expect(Number(batches.rows[0]!.distinct_n)).toBe(prepared.batches);
    expect((await health(app)).status).toBe(200);
  }, 120_000);
});
