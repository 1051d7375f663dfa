import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestCustomers, ingestEvents } from '../../src/ingest/api.service.js';
import { metrics } from '../../src/platform/metrics.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/** The ingest services on a real database: the rescore contract and concurrent batches. */
let db: TestDb;
const opts = { statementTimeoutMs: 10_000 };

beforeAll(async () => {
  db = await createTestDb('ingest_service');
  const res = await ingestCustomers(
    db.db,
    Array.from({ length: 50 }, (_, i) => ({ external_id: `C${i}`, name: `Customer ${i}` })),
    opts,
  );
  expect(res.created).toBe(50);
});
afterAll(async () => db?.drop());

const ev = (customer: string, id: string, kind = 'usage') => ({
  customer_external_id: customer,
  kind,
  occurred_at: '2026-10-10T10:10:10Z',
  value: 1,
  external_id: id,
});

describe('the incremental rescore contract', () => {
  it('a customer scored before new signals arrive is picked up by "data_changed_at after its last score"', async () => {
    // Score every customer "now", as a rescore run would.
    const run = await db.db.insertInto('scoring_runs').values({ kind: 'full', as_of: new Date() }).returning('id').executeTakeFirstOrThrow();
    await sql`INSERT INTO customer_scores (customer_id, run_id, scored_at, health, band)
              SELECT id, ${run.id}, clock_timestamp(), 50, 'yellow' FROM customers`.execute(db.db);
    const due = () =>
      sql<{ external_id: string }>`SELECT c.external_id FROM customers c JOIN customer_scores s ON s.customer_id = c.id
                                   WHERE c.data_changed_at > s.scored_at ORDER BY c.external_id`.execute(db.db);
    expect((await due()).rows).toEqual([]);

    await ingestEvents(db.db, [ev('C1', 'rc-1'), ev('C2', 'rc-2', 'complaint'), ev('C1', 'rc-3', 'order')], opts);
    expect((await due()).rows.map((r) => r.external_id)).toEqual(['C1', 'C2']);

    // A replay adds nothing and bumps nobody new.
    await sql`UPDATE customer_scores SET scored_at = clock_timestamp()`.execute(db.db);
    await ingestEvents(db.db, [ev('C1', 'rc-1'), ev('C2', 'rc-2', 'complaint')], opts);
    expect((await due()).rows).toEqual([]);
  });
});

describe('concurrent batches', () => {
  it('overlapping batches in opposite customer order all commit (no deadlock) and count once', async () => {
    const before = metrics.signalsIngested.get({ kind: 'usage', source: 'api' });
    const batches = Array.from({ length: 12 }, (_, b) => {
      const items = Array.from({ length: 200 }, (_, i) => ev(`C${i % 50}`, `cc-${b}-${i}`));
      return b % 2 ? items.reverse() : items;
    });
    const results = await Promise.all(batches.map((items) => ingestEvents(db.db, items, opts)));
    expect(results.every((r) => r.accepted === 200 && r.rejected.length === 0)).toBe(true);
    const stored = await sql<{ n: string }>`SELECT count(*) AS n FROM signals WHERE external_id LIKE 'cc-%'`.execute(db.db);
    expect(Number(stored.rows[0]!.n)).toBe(12 * 200);
    expect(metrics.signalsIngested.get({ kind: 'usage', source: 'api' }) - before).toBe(12 * 200);

    // The same batches again, concurrently: all duplicates.
    const replays = await Promise.all(batches.map((items) => ingestEvents(db.db, items, opts)));
    expect(replays.every((r) => r.accepted === 0 && r.duplicates === 200)).toBe(true);
  });

  it('the same new batch sent concurrently (a client retrying too early) stores each event once', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ev(`C${i % 50}`, `twice-${i}`, 'ticket'));
    const results = await Promise.all(Array.from({ length: 6 }, (_, k) => ingestEvents(db.db, k % 2 ? [...items].reverse() : items, opts)));
    expect(results.reduce((a, r) => a + r.accepted, 0)).toBe(300);
    expect(results.every((r) => r.accepted + r.duplicates === 300)).toBe(true);
    const stored = await sql<{ n: string }>`SELECT count(*) AS n FROM signals WHERE external_id LIKE 'twice-%'`.execute(db.db);
    expect(Number(stored.rows[0]!.n)).toBe(300);
  });

  it('concurrent upserts of the same new customers produce one row each', async () => {
    const batch = Array.from({ length: 30 }, (_, i) => ({ external_id: `N${i}`, name: `New ${i}`, plan: 'pro' }));
    const results = await Promise.all(Array.from({ length: 6 }, () => ingestCustomers(db.db, batch, opts)));
    expect(results.reduce((a, r) => a + r.created, 0)).toBe(30);
    const n = await sql<{ n: string }>`SELECT count(*) AS n FROM customers WHERE external_id LIKE 'N%'`.execute(db.db);
    expect(Number(n.rows[0]!.n)).toBe(30);
  });
});

describe('contract dates through the API', () => {
  it('takes started_at and churned_at: a churn date churns the customer, a later item without one keeps it churned', async () => {
    const first = await ingestCustomers(
      db.db,
      [{ external_id: 'S1', name: 'Saffron Dairy', started_at: '2024-03-01', churned_at: '2026-09-30T12:00:00Z' }],
      opts,
    );
    expect(first.created).toBe(1);
    await ingestCustomers(db.db, [{ external_id: 'S1', name: 'Saffron Dairy', plan: 'pro' }], opts);
    const bad = await ingestCustomers(db.db, [{ external_id: 'S2', name: 'Sorrel', churned_at: 'last week' }], opts);
    expect(bad.rejected.map((r) => r.reason)).toEqual(['churned_at "last week" is not an ISO date (YYYY-MM-DD or a full timestamp)']);
    const row = await db.db
      .selectFrom('customers')
      .select(['status', 'started_at', 'churned_at', 'plan'])
      .where('external_id', '=', 'S1')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'churned', started_at: new Date('2024-03-01T00:00:00Z'), churned_at: new Date('2026-09-30T12:00:00Z'), plan: 'pro' });
  });
});
