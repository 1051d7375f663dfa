import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { start, type Running } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';

/**
 * A NUL character (U+0000) in one item of an ingest batch: Postgres text
 * cannot hold it, and a 500 for the whole batch would make a sender that
 * retries on 5xx retry forever while the good items are never stored. The
 * item is refused with its index and reason; the others are stored.
 */
const TOKEN = 'nul-test-token-0123456789';
let db: TestDb;
let running: Running;
let prefix: string;
let base: string;

beforeAll(async () => {
  db = await createTestDb('ingest_nul');
  prefix = queuePrefix('ingest_nul');
  const config = loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, API_TOKEN: TOKEN, LOG_LEVEL: 'silent' });
  running = await start({ roles: ['web'], config, logger: silentLogger, port: 0, migrate: false });
  base = `http://127.0.0.1:${running.port}`;
});
afterAll(async () => {
  await running?.stop();
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

describe('NUL in an ingest item', () => {
  it('customers: the item is refused with its index and reason, the others stored', async () => {
    const r = await post('/api/v1/customers', [
      { external_id: 'N1', name: 'Good One' },
      { external_id: 'N2', name: 'Bad\u0000 Name' },
      { external_id: 'N3', name: 'Good Three', extra: { note: 'x\u0000' } },
      { external_id: 'N4', name: 'Good Four' },
    ]);
    expect(r.status).toBe(200);
    expect(r.json.accepted).toBe(2);
    expect(r.json.rejected).toEqual([
      { index: 1, reason: expect.stringMatching(/^name contains a NUL character/) },
      { index: 2, reason: expect.stringMatching(/^extra\.note contains a NUL character/) },
    ]);
    const names = (await db.db.selectFrom('customers').select('external_id').orderBy('external_id').execute()).map((c) => c.external_id);
    expect(names).toEqual(['N1', 'N4']);
  });

  it('events: the same, and sending the batch again changes nothing', async () => {
    const batch = [
      { customer_external_id: 'N1', kind: 'usage', occurred_at: '2026-11-01T10:00:00Z', value: 3, external_id: 'e-1' },
      { customer_external_id: 'N1', kind: 'usage', occurred_at: '2026-11-02T10:00:00Z', value: 3, external_id: 'e-\u00002' },
      { customer_external_id: 'N4', kind: 'order', occurred_at: '2026-11-03T10:00:00Z', value: 100, external_id: 'e-3' },
    ];
    const r = await post('/api/v1/events', batch);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      accepted: 2,
      duplicates: 0,
      rejected: [{ index: 1, reason: expect.stringMatching(/^external_id contains a NUL character/) }],
    });
    const again = await post('/api/v1/events', batch);
    expect(again.json).toMatchObject({ accepted: 0, duplicates: 2 });
  });
});
