import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Backpressure: with ingest.maxInFlight forced to 1, requests over the bound
 * get 503 + Retry-After; a database that cannot take a batch in time gets
 * 503 too; and every item answered as accepted is in the database.
 */
const TOKEN = 'backpressure-token-0123456789';
let app: TestApp;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retain-ingest-'));
  const configPath = join(dir, 'retain.json');
  writeFileSync(configPath, JSON.stringify({ ingest: { maxInFlight: 1, retryAfterSeconds: 2, statementTimeoutMs: 300 } }));
  app = await startTestApp('ingest_bp', { env: { API_TOKEN: TOKEN, RETAIN_CONFIG: configPath } });
  const customers = Array.from({ length: 20 }, (_, i) => ({ external_id: `BP${i}`, name: `Backpressure ${i}` }));
  const res = await post('/api/v1/customers', customers);
  expect(res.status).toBe(200);
});
afterAll(async () => app?.stop());

async function post(path: string, body: unknown) {
  const res = await fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as any };
}

const batch = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    customer_external_id: `BP${i % 20}`,
    kind: 'usage',
    occurred_at: '2026-11-02T00:00:00Z',
    value: i,
    external_id: `${tag}-${i}`,
  }));

const storedIds = async (prefix: string) =>
  new Set(
    (await sql<{ external_id: string }>`SELECT external_id FROM signals WHERE external_id LIKE ${`${prefix}%`}`.execute(app.db.db)).rows.map(
      (r) => r.external_id,
    ),
  );

async function inFlight(): Promise<number> {
  const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('retain_ingest_in_flight'));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('bounded in-flight ingest', () => {
  it('answers 503 + Retry-After while the slot is held, then the held request completes', async () => {
    const body = JSON.stringify(batch('held', 10));
    const half = Math.floor(body.length / 2);
    // A sender that has sent only half its body holds the one slot.
    const req = request(`${app.baseUrl}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'content-length': Buffer.byteLength(body) },
    });
    const held = new Promise<{ status: number; json: any }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, half));
    req.flushHeaders();
    for (let i = 0; i < 500 && (await inFlight()) < 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await inFlight()).toBe(1);

    const refused = await post('/api/v1/events', batch('refused', 5));
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('2');
    expect(refused.json.error).toMatch(/busy/);

    req.end(body.slice(half));
    const done = await held;
    expect(done.status).toBe(200);
    expect(done.json.accepted).toBe(10);
    expect((await storedIds('held-')).size).toBe(10);
    expect((await storedIds('refused-')).size).toBe(0);
    expect(await inFlight()).toBe(0);
  });

  it('a burst: some requests get 503, every accepted item is stored, retries store the rest', async () => {
    const batches = Array.from({ length: 24 }, (_, b) => batch(`burst${b}x`, 300));
    const results = await Promise.all(batches.map((items) => post('/api/v1/events', items)));
    const refused = results.filter((r) => r.status === 503);
    const ok = results.filter((r) => r.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(ok.length + refused.length).toBe(batches.length);
    for (const r of refused) expect(r.retryAfter).toBe('2');

    // Every 200 means committed: all of that batch's items are in the database.
    for (const [b, r] of results.entries()) {
      const stored = await storedIds(`burst${b}x-`);
      expect(stored.size).toBe(r.status === 200 ? 300 : 0);
      if (r.status === 200) expect(r.json).toEqual({ accepted: 300, duplicates: 0, rejected: [] });
    }

    // The refused batches, sent again one at a time, go in: nothing is lost.
    for (const [b, r] of results.entries()) {
      if (r.status !== 503) continue;
      const again = await post('/api/v1/events', batches[b]);
      expect(again.status).toBe(200);
      expect(again.json.accepted).toBe(300);
    }
    expect((await storedIds('burst')).size).toBe(24 * 300);
  });
});

describe('a database that cannot take the batch', () => {
  it('answers 503 when a lock outlasts the statement timeout, and stores nothing', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = app.db.db.transaction().execute(async (trx) => {
      await sql`SELECT id FROM customers WHERE external_id = 'BP3' FOR UPDATE`.execute(trx);
      locked();
      await hold;
    });
    await isLocked;
    try {
      const res = await post('/api/v1/events', [{ customer_external_id: 'BP3', kind: 'ticket', occurred_at: '2026-11-03', external_id: 'locked-1' }]);
      expect(res.status).toBe(503);
      expect(res.retryAfter).toBe('2');
      expect(res.json.error).toMatch(/not stored, send it again/);
      expect((await storedIds('locked-')).size).toBe(0);
    } finally {
      release();
      await holder;
    }
    const retry = await post('/api/v1/events', [{ customer_external_id: 'BP3', kind: 'ticket', occurred_at: '2026-11-03', external_id: 'locked-1' }]);
    expect(retry.json.accepted).toBe(1);
  });

  it('answers 503 when no pooled connection frees up within the acquire timeout', async () => {
    // Hold every connection of the app's pool (10) outside the ingest path.
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const acquired: Promise<void>[] = [];
    const holders = Array.from({ length: 10 }, () => {
      let got!: () => void;
      acquired.push(new Promise<void>((r) => (got = r)));
      return app.running.ctx.db.transaction().execute(async (trx) => {
        await sql`SELECT 1`.execute(trx);
        got();
        await hold;
      });
    });
    await Promise.all(acquired);
    try {
      const res = await post('/api/v1/events', batch('starved', 3));
      expect(res.status).toBe(503);
      expect(res.retryAfter).toBe('2');
    } finally {
      release();
      await Promise.all(holders);
    }
    expect((await storedIds('starved-')).size).toBe(0);
  });
});
