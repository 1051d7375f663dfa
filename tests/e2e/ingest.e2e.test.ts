import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { start, type Running } from '../../src/main.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDb, queuePrefix, cleanQueuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';
import { seedRoster } from '../helpers/fixtures.js';

/**
 * POST /api/v1/customers and /api/v1/events over real HTTP against the running
 * app and a real database; GET /metrics and /healthz. The app logs into a
 * buffer so the test can check no token or customer text is ever logged.
 */
const TOKEN = 'test-api-token-0123456789abcdef';
let running: Running;
let db: TestDb;
let base: string;
let prefix: string;
const logLines: string[] = [];

beforeAll(async () => {
  db = await createTestDb('ingest_api');
  prefix = queuePrefix('ingest_api');
  const config = loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, API_TOKEN: TOKEN, LOG_LEVEL: 'debug' });
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  running = await start({ roles: ['web'], config, logger: createLogger('debug', sink), port: 0, migrate: false });
  base = `http://127.0.0.1:${running.port}`;
  await seedRoster(db);
});
afterAll(async () => {
  await running?.stop();
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

async function post(path: string, body: unknown, opts: { token?: string | null; raw?: string | Buffer; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as any) : null };
}

const count = async (table: 'signals' | 'customers' | 'ownership_events') =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db.db)).rows[0]!.n);

/** Prometheus text exposition → samples. */
function parseMetrics(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}
async function metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await fetch(`${base}/metrics`);
  const samples = parseMetrics(await res.text());
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

const customer = (id: string, extra: Record<string, unknown> = {}) => ({ external_id: id, name: `Customer ${id}`, ...extra });
const event = (customerId: string, extra: Record<string, unknown> = {}) => ({
  customer_external_id: customerId,
  kind: 'usage',
  occurred_at: '2026-11-01T10:00:00Z',
  value: 5,
  ...extra,
});

describe('metrics exposition', () => {
  // First in the file: the process registry starts empty, so the counter reads exactly 3.
  it('counts 3 usage events ingested through the API', async () => {
    expect((await post('/api/v1/customers', [customer('M1')])).status).toBe(200);
    const res = await post(
      '/api/v1/events',
      [1, 2, 3].map((i) => event('M1', { external_id: `m-${i}` })),
    );
    expect(res.json).toEqual({ accepted: 3, duplicates: 0, rejected: [] });

    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scrape.text();
    const samples = parseMetrics(text); // every line parses
    expect(samples.find((s) => s.name === 'retain_signals_ingested_total' && s.labels.kind === 'usage' && s.labels.source === 'api')?.value).toBe(3);
    expect(text).toContain('# TYPE retain_signals_ingested_total counter');
    for (const name of [
      'retain_ingest_rejected_total',
      'retain_rescore_seconds',
      'retain_customers_scored_total',
      'retain_queue_jobs',
      'retain_notifications_sent_total',
      'retain_notifications_failed_total',
      'retain_slack_rate_limited_total',
      'retain_slash_command_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // Queue depths are read from BullMQ at scrape time.
    expect(samples.some((s) => s.name === 'retain_queue_jobs' && s.labels.queue === 'scoring' && s.labels.state === 'waiting')).toBe(true);
    expect(samples.find((s) => s.name === 'retain_ingest_requests_total' && s.labels.endpoint === 'events' && s.labels.status === '200')?.value).toBe(1);
  });
});

describe('authentication', () => {
  it('rejects a missing token with 401 and writes nothing', async () => {
    const before = await count('customers');
    const res = await post('/api/v1/customers', [customer('NOAUTH')], { token: null });
    expect(res.status).toBe(401);
    expect(res.json.error).toMatch(/Bearer/);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await count('customers')).toBe(before);
  });

  it('rejects a wrong token (same length or not) with 401 and writes nothing', async () => {
    const before = await count('signals');
    for (const wrong of ['x'.repeat(TOKEN.length), 'short', `${TOKEN}x`]) {
      const res = await post('/api/v1/events', [event('M1', { external_id: 'never' })], { token: wrong });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: 'invalid API token' });
    }
    expect(await count('signals')).toBe(before);
  });

  it('keeps the Stripe webhook disabled without STRIPE_WEBHOOK_SECRET', async () => {
    const res = await post('/api/v1/stripe', { id: 'evt_1', type: 'invoice.paid' }, { token: null });
    expect(res.status).toBe(404);
    expect(res.json.error).toMatch(/STRIPE_WEBHOOK_SECRET/);
  });
});

describe('request shape', () => {
  it('answers malformed JSON with 400 and a clear message', async () => {
    const res = await post('/api/v1/events', null, { raw: '[{"customer_external_id": "M1",' });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/not valid JSON/);
  });

  it('answers a non-array and an empty body with 400', async () => {
    expect((await post('/api/v1/events', { customer_external_id: 'M1' })).json.error).toMatch(/expected a JSON array of events/);
    const empty = await post('/api/v1/customers', null, { raw: '' });
    expect(empty.status).toBe(400);
    expect(empty.json.error).toMatch(/empty/);
  });

  it('answers more than 10,000 items with 413 naming the limit, and stores none', async () => {
    const before = await count('signals');
    const res = await post(
      '/api/v1/events',
      Array.from({ length: 10_001 }, (_, i) => event('M1', { external_id: `big-${i}` })),
    );
    expect(res.status).toBe(413);
    expect(res.json.error).toMatch(/10001 in one request, the limit is 10000/);
    expect(await count('signals')).toBe(before);
  });

  it('takes exactly 10,000 items', async () => {
    const res = await post(
      '/api/v1/events',
      Array.from({ length: 10_000 }, (_, i) => event('M1', { kind: 'ticket', external_id: `tenk-${i}` })),
    );
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(10_000);
  });

  it('answers a body above the byte limit with 413 naming the limit', async () => {
    const padding = 'x'.repeat(9 * 1024 * 1024);
    const res = await post('/api/v1/events', null, { raw: JSON.stringify([event('M1', { pad: padding })]) });
    expect(res.status).toBe(413);
    expect(res.json.error).toMatch(/limit is 8388608 bytes/);
  });

  it('accepts a gzip body', async () => {
    const res = await post('/api/v1/events', null, {
      raw: gzipSync(JSON.stringify([event('M1', { external_id: 'gz-1' })])),
      headers: { 'content-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(1);
  });
});

describe('POST /api/v1/events', () => {
  it('stores the good items of a mixed batch and rejects each bad one by index with a reason', async () => {
    await post('/api/v1/customers', [customer('E1'), customer('E2')]);
    const before = await count('signals');
    const res = await post('/api/v1/events', [
      event('E1', { external_id: 'mix-0' }),
      event('NOPE', { external_id: 'mix-1' }),
      event('E2', { kind: 'refund', external_id: 'mix-2' }),
      event('E2', { kind: 'order', value: 99.5, external_id: 'mix-3' }),
      'not an object',
      event('E1', { occurred_at: 'yesterday' }),
      event('E1', { kind: 'nps', value: 11 }),
      event('E1', { value: { amount: 3 } }),
      event('E2', { kind: 'nps', value: 9, occurred_at: '2026-10-01' }),
    ]);
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(3);
    expect(res.json.duplicates).toBe(0);
    expect(res.json.rejected).toEqual([
      { index: 1, reason: expect.stringMatching(/customer NOPE is unknown/) },
      { index: 2, reason: expect.stringMatching(/kind "refund" is unknown/) },
      { index: 4, reason: 'item must be a JSON object' },
      { index: 5, reason: expect.stringMatching(/occurred_at "yesterday" is not an ISO date/) },
      { index: 6, reason: expect.stringMatching(/outside 0–10/) },
      { index: 7, reason: 'value must be a string or a number' },
    ]);
    expect(await count('signals')).toBe(before + 3);
    const stored = await db.db
      .selectFrom('signals')
      .select(['kind', 'value', 'source', 'external_id'])
      .where('external_id', '=', 'mix-3')
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ kind: 'order', source: 'api' });
    expect(Number(stored.value)).toBe(99.5);
    expect(await metric('retain_ingest_rejected_total', { endpoint: 'events', reason: 'unknown_customer' })).toBeGreaterThanOrEqual(1);
  });

  it('is idempotent: replaying a batch changes nothing', async () => {
    const batch = [event('E1', { external_id: 'rep-1' }), event('E2', { kind: 'complaint', value: null }), event('E2', { kind: 'ticket' })];
    const first = await post('/api/v1/events', batch);
    expect(first.json).toEqual({ accepted: 3, duplicates: 0, rejected: [] });
    const before = await count('signals');
    const changedAt = await db.db.selectFrom('customers').select('data_changed_at').where('external_id', '=', 'E2').executeTakeFirstOrThrow();
    const again = await post('/api/v1/events', batch);
    expect(again.json).toEqual({ accepted: 0, duplicates: 3, rejected: [] });
    expect(await count('signals')).toBe(before);
    const after = await db.db.selectFrom('customers').select('data_changed_at').where('external_id', '=', 'E2').executeTakeFirstOrThrow();
    expect(after.data_changed_at).toEqual(changedAt.data_changed_at);
  });

  it('bumps data_changed_at of exactly the customers that got new signals', async () => {
    await post('/api/v1/customers', [customer('D1'), customer('D2')]);
    const stamp = new Date('2020-01-01T00:00:00Z');
    await db.db.updateTable('customers').set({ data_changed_at: stamp }).where('external_id', 'in', ['D1', 'D2']).execute();
    const res = await post('/api/v1/events', [event('D1', { external_id: 'bump-1' })]);
    expect(res.json.accepted).toBe(1);
    const rows = await db.db
      .selectFrom('customers')
      .select(['external_id', 'data_changed_at'])
      .where('external_id', 'in', ['D1', 'D2'])
      .orderBy('external_id')
      .execute();
    expect(rows[0]!.data_changed_at.getTime()).toBeGreaterThan(stamp.getTime());
    expect(rows[1]!.data_changed_at).toEqual(stamp);
  });

  it('dedupes events without external_id by their content', async () => {
    const batch = [event('E1', { kind: 'order', value: 10, occurred_at: '2026-09-09' }), event('E1', { kind: 'order', value: 10, occurred_at: '2026-09-09' })];
    const res = await post('/api/v1/events', batch);
    expect(res.json).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
  });
});

describe('POST /api/v1/customers', () => {
  it('creates and updates with CSV semantics: a missing value never erases one we hold', async () => {
    const created = await post('/api/v1/customers', [
      customer('K1', { domain: 'https://www.k1.example/', plan: 'pro', arr: '12,000', currency: 'usd', renewal_date: '2027-03-01', owner_slack_id: 'U0ALICE' }),
    ]);
    expect(created.json).toMatchObject({ accepted: 1, duplicates: 0, created: 1, updated: 0, rejected: [] });
    const updated = await post('/api/v1/customers', [{ external_id: 'K1', name: 'K One', domain: '', plan: null, arr: 15000 }]);
    expect(updated.json).toMatchObject({ accepted: 1, created: 0, updated: 1 });
    const row = await db.db.selectFrom('customers').selectAll().where('external_id', '=', 'K1').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'K One', domain: 'k1.example', plan: 'pro', currency: 'USD', renewal_date: '2027-03-01' });
    expect(Number(row.arr)).toBe(15000);
    const team = await db.db.selectFrom('teams').select('key').where('id', '=', row.team_id!).executeTakeFirstOrThrow();
    expect(team.key).toBe('emea'); // the owner's team when none is given
  });

  it('is idempotent: replaying the same batch changes nothing', async () => {
    const batch = [customer('I1', { arr: 100 }), customer('I2', { owner_slack_id: 'U0BOB', team: 'EMEA' })];
    expect((await post('/api/v1/customers', batch)).json).toMatchObject({ accepted: 2, duplicates: 0 });
    const counts = [await count('customers'), await count('ownership_events')];
    const updatedAt = await db.db.selectFrom('customers').select('updated_at').where('external_id', '=', 'I2').executeTakeFirstOrThrow();
    expect((await post('/api/v1/customers', batch)).json).toEqual({ accepted: 0, duplicates: 2, created: 0, updated: 0, rejected: [] });
    expect([await count('customers'), await count('ownership_events')]).toEqual(counts);
    expect((await db.db.selectFrom('customers').select('updated_at').where('external_id', '=', 'I2').executeTakeFirstOrThrow()).updated_at).toEqual(
      updatedAt.updated_at,
    );
  });

  it('audits owner changes as ownership events of kind api', async () => {
    await post('/api/v1/customers', [customer('O1', { owner_slack_id: 'U0ALICE' })]);
    await post('/api/v1/customers', [customer('O1', { owner_slack_id: 'U0BOB' })]);
    await post('/api/v1/customers', [customer('O1')]); // no owner given: unknown, keeps Bob
    const events = await db.db
      .selectFrom('ownership_events as e')
      .innerJoin('customers as c', 'c.id', 'e.customer_id')
      .leftJoin('members as f', 'f.id', 'e.from_member_id')
      .innerJoin('members as t', 't.id', 'e.to_member_id')
      .select(['e.kind', 'f.slack_user_id as from', 't.slack_user_id as to'])
      .where('c.external_id', '=', 'O1')
      .orderBy('e.id')
      .execute();
    expect(events).toEqual([
      { kind: 'api', from: null, to: 'U0ALICE' },
      { kind: 'api', from: 'U0ALICE', to: 'U0BOB' },
    ]);
  });

  it('rejects unknown teams and owners, invalid rows and in-batch duplicates, storing the rest', async () => {
    const before = await count('customers');
    const res = await post('/api/v1/customers', [
      customer('R1'),
      customer('R2', { team: 'nowhere' }),
      customer('R3', { owner_slack_id: 'U0NOBODY' }),
      { external_id: 'R4' },
      customer('R5', { arr: -5 }),
      customer('R6', { plan: 'basic' }),
      customer('R6', { plan: 'pro' }),
      customer('R7', { name: ['array'] }),
    ]);
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(2);
    expect(res.json.rejected).toEqual([
      { index: 1, reason: expect.stringMatching(/team "nowhere" is unknown/) },
      { index: 2, reason: expect.stringMatching(/owner U0NOBODY is not a member/) },
      { index: 3, reason: 'name is missing' },
      { index: 4, reason: 'arr cannot be negative' },
      { index: 5, reason: expect.stringMatching(/appears again at index 6; the later item was used/) },
      { index: 7, reason: 'name must be a string or a number' },
    ]);
    expect(await count('customers')).toBe(before + 2);
    expect((await db.db.selectFrom('customers').select('plan').where('external_id', '=', 'R6').executeTakeFirstOrThrow()).plan).toBe('pro');
  });
});

describe('operations', () => {
  it('reports each dependency in /healthz with ok and latency', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.ok).toBe(true);
    for (const dep of ['postgres', 'redis']) {
      expect(body.checks[dep].ok).toBe(true);
      expect(typeof body.checks[dep].ms).toBe('number');
    }
  });

  it('logs structured JSON without tokens or customer text', async () => {
    await post('/api/v1/customers', [customer('LOG1', { name: 'Secretive Widgets GmbH' })]);
    await post('/api/v1/events', [event('LOG1', { external_id: 'log-ext-id' })], { token: 'wrong-token-value-123' });
    await post('/api/v1/events', [event('LOG1', { external_id: 'log-ext-id' })]);
    const lines = logLines.filter((l) => l.includes('ingest request'));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of logLines) {
      const parsed = JSON.parse(line);
      expect(parsed).toHaveProperty('level');
    }
    const all = logLines.join('\n');
    for (const secret of [TOKEN, 'wrong-token-value-123', 'Secretive Widgets', 'LOG1', 'log-ext-id']) expect(all).not.toContain(secret);
    expect(lines.some((l) => JSON.parse(l).status === 401)).toBe(true);
  });
});

describe('API disabled', () => {
  it('answers 404 with a clear message when API_TOKEN is unset', async () => {
    const config = loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
    const other = await start({ roles: ['web'], config, port: 0, migrate: false, withQueues: false });
    try {
      const res = await fetch(`http://127.0.0.1:${other.port}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '[]' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).error).toMatch(/disabled: set API_TOKEN/);
    } finally {
      await other.stop();
    }
  });
});
