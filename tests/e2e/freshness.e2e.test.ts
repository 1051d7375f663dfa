import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { start, type Running } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { BOT_TOKEN, SIGNING_SECRET, type TestApp } from '../helpers/app.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';
import { seedRoster } from '../helpers/fixtures.js';
import { slash, until } from '../helpers/interact.js';
import { visibleText } from '../helpers/text.js';
import { startSlackDouble, type SlackDouble } from '../helpers/slack-double.js';
import { loadBook, plantedBook } from '../integration/rescore.book.js';

/**
 * New data acts within seconds, with no `retain rescore`: a book imported
 * before the app starts is scored when the worker starts; signals posted to
 * the ingest API make their account's warning; a burst of ingest batches
 * shares a few runs; a renewal due in 7 days is reminded at start-up, and
 * not again after a restart.
 */
const TOKEN = 'freshness-api-token-0123456789';
const DEBOUNCE_MS = 1_500;
const now = new Date();
const DAY = 86_400_000;
let db: TestDb;
let slack: SlackDouble;
let prefix: string;
let running: Running;
let app: TestApp;

/** Today + n in the emea team's time zone (the renewal window counts local days). */
function berlinDate(plusDays: number): string {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(now);
  return new Date(Date.parse(`${today}T00:00:00Z`) + plusDays * DAY).toISOString().slice(0, 10);
}
const RENEWS = berlinDate(7);

async function startApp(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'retain-freshness-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ schedules: { debounceMs: DEBOUNCE_MS }, pacing: { perChannelMs: 20 } }));
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    RETAIN_QUEUE_PREFIX: prefix,
    RETAIN_CONFIG: join(dir, 'config.json'),
    API_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
  });
  running = await start({ roles: ['web', 'worker'], config, logger: silentLogger, port: 0, migrate: false });
  const baseUrl = `http://127.0.0.1:${running.port}`;
  app = { running, db, slack, baseUrl, eventsUrl: `${baseUrl}/slack/events`, prefix, stop: async () => undefined };
}

async function postEvents(events: Record<string, unknown>[]): Promise<{ accepted: number }> {
  const res = await fetch(`${app.baseUrl}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(events),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { accepted: number };
}

const warningsFor = (name: string) => slack.posted.filter((p) => String(p.metadata?.event_payload.key ?? '').startsWith('warning:') && p.text.includes(name));
const remindersKeyed = (key: string) => slack.posted.filter((p) => p.metadata?.event_payload.key === key);
const idOf = async (externalId: string) =>
  String((await db.db.selectFrom('customers').select('id').where('external_id', '=', externalId).executeTakeFirstOrThrow()).id);

/** No scoring run open and no rescore queued (besides the schedules' next runs): every follow-up of the data so far has run. */
async function settled(): Promise<void> {
  await until(async () => {
    const open = await sql<{ n: number }>`SELECT count(*)::int AS n FROM scoring_runs WHERE status = 'running'`.execute(db.db);
    const jobs = await running.ctx.queues!.queue('scoring').getJobs(['waiting', 'delayed', 'active', 'prioritized']);
    return open.rows[0]!.n === 0 && jobs.filter((j) => !j.repeatJobKey && !String(j.id).startsWith('repeat:')).length === 0;
  }, 60_000);
}

beforeAll(async () => {
  db = await createTestDb('freshness_e2e');
  slack = await startSlackDouble();
  prefix = queuePrefix('freshness');
  await seedRoster(db);
  const book = plantedBook(now);
  // STEADY is as healthy as THRIVE, owned by Alice (alert channel C0ALICE); RENEW7 renews in 7 days.
  book.customersCsv += `STEADY,Steady Co,steady.example,pro,110000,USD,,U0ALICE,emea\nRENEW7,Renew Seven GmbH,renew7.example,pro,40000,EUR,${RENEWS},U0ALICE,emea\n`;
  book.eventsCsv += book.eventsCsv
    .split('\n')
    .filter((l) => l.startsWith('THRIVE,'))
    .map((l) => l.replace(/^THRIVE,/, 'STEADY,').replace(/,THRIVE-(\d+)$/, ',STEADY-$1'))
    .join('\n')
    .concat('\n');
  book.touches.push({ customer: 'STEADY', daysAgo: 10 });
  await loadBook(db, book, now);
  // Imported with no worker running and no rescore: nothing is scored yet.
  expect(await db.db.selectFrom('customer_scores').select('customer_id').execute()).toHaveLength(0);
  await startApp();
}, 60_000);

afterAll(async () => {
  await running?.stop();
  await slack?.close();
  if (prefix) await cleanQueuePrefix(prefix);
  await db?.drop();
});

describe('freshness: the data, not the clock', () => {
  it('a book imported before the app started is scored at start-up: /customer shows health, with no retain rescore', async () => {
    const reply = await until(async () => {
      const r = await slash(app, '/customer', 'Steady Co', 'U0ALICE');
      const text = visibleText(r);
      // Until its run has written the score, the card says it is on its way — never "the next scoring run".
      if (!/Health \d+/.test(text)) {
        expect(text).toMatch(/Scoring now — back in a few seconds/);
        return null;
      }
      return text;
    }, 60_000);
    expect(reply).toMatch(/\*Health \d+\*/);
    const runs = await db.db.selectFrom('scoring_runs').select(['kind', 'status']).orderBy('id').execute();
    // A fresh book's first run is a full one: RFM and tier edges come from it.
    expect(runs[0]).toEqual({ kind: 'full', status: expect.stringMatching(/running|done/) });
  }, 70_000);

  it('a renewal due in 7 days is reminded within a minute of start-up', async () => {
    const key = `renewal:${await idOf('RENEW7')}:${RENEWS}:7`;
    await slack.waitFor(() => remindersKeyed(key).length === 1, 60_000);
    expect(remindersKeyed(key)[0]!.channel).toBe('C0ALICE');
  }, 70_000);

  it('collapse signals posted to the ingest API warn the owner of a steady account — once, with no retain rescore', async () => {
    await settled();
    const steady = await db.db
      .selectFrom('customer_scores as s')
      .innerJoin('customers as c', 'c.id', 's.customer_id')
      .select(['s.band', 's.health'])
      .where('c.external_id', '=', 'STEADY')
      .executeTakeFirstOrThrow();
    expect(steady.band).toBe('green');
    expect(warningsFor('Steady Co')).toHaveLength(0);

    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY - 3600_000).toISOString();
    const collapse = [
      ...[1, 2, 3, 4, 5, 6].map((d) => ({ customer_external_id: 'STEADY', kind: 'complaint', occurred_at: at(d), external_id: `steady-c${d}` })),
      ...[2, 8, 15].map((d) => ({ customer_external_id: 'STEADY', kind: 'payment_failed', occurred_at: at(d), external_id: `steady-p${d}` })),
      { customer_external_id: 'STEADY', kind: 'nps', occurred_at: at(1), value: 0, external_id: 'steady-nps0' },
    ];
    expect((await postEvents(collapse)).accepted).toBe(collapse.length);
    await slack.waitFor(() => warningsFor('Steady Co').length > 0, 30_000);
    const warning = warningsFor('Steady Co')[0]!;
    expect(warning.channel).toBe('C0ALICE');
    expect(JSON.stringify(warning.blocks)).toMatch(/complaints? in 30 days|failed payments? in 90 days|health fell \d+ points/);

    // The same batch again changes nothing; new data elsewhere makes another run: still one warning.
    expect((await postEvents(collapse)).accepted).toBe(0);
    expect((await postEvents([{ customer_external_id: 'F01', kind: 'usage', occurred_at: at(0), value: 22, external_id: 'f01-more' }])).accepted).toBe(1);
    await settled();
    expect(warningsFor('Steady Co')).toHaveLength(1);
  }, 90_000);

  it('a burst of 50 ingest batches shares a handful of runs, and every change in it is scored', async () => {
    await settled();
    const before = Number((await sql<{ id: string }>`SELECT coalesce(max(id), 0) AS id FROM scoring_runs`.execute(db.db)).rows[0]!.id);
    const fillers = Array.from({ length: 27 }, (_, i) => `F${String(i).padStart(2, '0')}`);
    for (let b = 0; b < 50; b++) {
      const batch = [0, 1, 2].map((k) => ({
        customer_external_id: fillers[(b * 3 + k) % fillers.length],
        kind: 'usage',
        occurred_at: new Date(Date.now() - 3600_000).toISOString(),
        value: 20 + k,
        external_id: `burst-${b}-${k}`,
      }));
      expect((await postEvents(batch)).accepted).toBe(3);
    }
    await settled();
    const runs = await sql<{ kind: string }>`SELECT kind FROM scoring_runs WHERE id > ${before}`.execute(db.db);
    expect(runs.rows.length).toBeGreaterThan(0);
    expect(runs.rows.length).toBeLessThanOrEqual(5);
    expect(runs.rows.every((r) => r.kind === 'incremental')).toBe(true);
    // Every filler's score has read its last change.
    const behind = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM customers c JOIN customer_scores s ON s.customer_id = c.id
      WHERE c.external_id LIKE 'F%' AND c.data_changed_at > s.data_seen_at`.execute(db.db);
    expect(behind.rows[0]!.n).toBe(0);

    // /metrics: nothing waits to be scored; the API delivered seconds ago.
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^retain_score_lag_seconds 0$/m);
    expect(metrics).toMatch(/^retain_unscored_customers 0$/m);
    const apiAge = Number(/^retain_newest_signal_age_seconds\{source="api"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(apiAge).toBeGreaterThanOrEqual(0);
    expect(apiAge).toBeLessThan(120);
    expect(metrics).toMatch(/^retain_last_run_customers\{kind="incremental"\} \d+$/m);
  }, 90_000);

  it('after a restart the 7-day reminder is not sent again', async () => {
    const key = `renewal:${await idOf('RENEW7')}:${RENEWS}:7`;
    const completedBefore = (await scansCompleted()).length;
    await running.stop();
    await startApp();
    // The restarted worker's start-up scan has run…
    await until(async () => (await scansCompleted()).length > completedBefore, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    // …and the reminder it found was already claimed.
    expect(remindersKeyed(key)).toHaveLength(1);
    const claimed = await db.db.selectFrom('notifications').select('id').where('dedupe_key', '=', key).execute();
    expect(claimed).toHaveLength(1);
  }, 60_000);
});

async function scansCompleted() {
  const q = running.ctx.queues!.queue('scans');
  return (await q.getJobs(['completed'], 0, 1000)).filter((j) => j.name === 'scanRenewals');
}
