import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildContext, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { fitData } from '../../src/scores/fit.repository.js';
import { fitModels } from '../../src/scores/fit.service.js';
import { rescoreHandlers } from '../../src/scores/rescore.job.js';
import { rescoreNow } from '../../src/scores/rescore.runner.js';
import { bgnbdPAlive, groupBgNbdObservations, summarizePurchases, type Order } from '../../src/scoring/index.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { loadEventsCsv } from '../helpers/fixtures.js';
import { customerIdOf, loadBook, plantedBook } from './rescore.book.js';

const now = new Date();
let db: TestDb;
let built: Built;

beforeAll(async () => {
  db = await createTestDb('fit');
  await loadBook(db, plantedBook(now), now);
  // Same-day orders are one purchase day (amounts summed).
  const day = new Date(now.getTime() - 50 * 86_400_000);
  day.setUTCHours(9, 0, 0, 0);
  const later = new Date(day.getTime() + 5 * 3600_000);
  await loadEventsCsv(
    db,
    `customer_external_id,kind,occurred_at,value,external_id\nF01,order,${day.toISOString()},100,same-1\nF01,order,${later.toISOString()},50,same-2\n`,
  );
  built = buildContext({ config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), logger: silentLogger, withQueues: false });
});

afterAll(async () => {
  await built?.close();
  await db?.drop();
});

async function ordersByCustomer(asOf: Date): Promise<Map<string, Order[]>> {
  const rows = await sql<{ id: string; at: Date; value: string | null }>`
    SELECT customer_id::text AS id, occurred_at AS at, value FROM signals WHERE kind = 'order' AND occurred_at <= ${asOf}`.execute(db.db);
  const out = new Map<string, Order[]>();
  for (const r of rows.rows) {
    const list = out.get(r.id) ?? [];
    list.push({ date: new Date(r.at), amount: Number(r.value ?? 0) });
    out.set(r.id, list);
  }
  return out;
}

describe('model fits', () => {
  it('groups customers into (x, t_x, T) patterns in SQL exactly as the purchase summary defines them', async () => {
    const asOf = new Date(now.getTime() - 3600_000);
    const data = await fitData(db.db, asOf);
    const summaries = [...(await ordersByCustomer(asOf)).values()].map((orders) => summarizePurchases(orders, asOf)!);
    const expected = groupBgNbdObservations(summaries);
    const got = groupBgNbdObservations(data.bgnbd);
    expect(data.customers).toBe(summaries.length);
    expect(got.customers).toBe(expected.customers);
    expect(got.size).toBe(expected.size);
    const key = (x: number, tx: number, T: number) => `${x}|${tx.toFixed(9)}|${T.toFixed(9)}`;
    const want = new Map<string, number>();
    for (let i = 0; i < expected.size; i++) want.set(key(expected.x[i]!, expected.tx[i]!, expected.T[i]!), expected.count[i]!);
    for (let i = 0; i < got.size; i++) expect(want.get(key(got.x[i]!, got.tx[i]!, got.T[i]!))).toBe(got.count[i]);
    // Gamma-Gamma rows: repeat customers with their mean repeat value.
    const spendWant = summaries.filter((s) => s.x > 0 && s.mean > 0);
    expect(data.spend.reduce((n, r) => n + (r.count ?? 1), 0)).toBe(spendWant.length);
    const f01 = summarizePurchases((await ordersByCustomer(asOf)).get(await customerIdOf(db, 'F01'))!, asOf)!;
    expect(data.spend.some((r) => r.x === f01.x && Math.abs(r.mean - f01.mean) < 1e-9)).toBe(true);
  });

  it('stores each model with its parameters, log-likelihood, customers and as-of date', async () => {
    const asOf = new Date(now.getTime() - 30 * 86_400_000);
    const report = await fitModels(db.db, asOf, { store: true, now });
    expect(report.bgnbd.converged).toBe(true);
    expect(report.bgnbd.stored).toBe(true);
    const rows = await db.db.selectFrom('model_fits').selectAll().orderBy('id').execute();
    expect(rows.map((r) => r.model)).toEqual(['bgnbd', 'gammagamma']);
    const bg = rows[0]!;
    expect(bg.as_of).toBe(asOf.toISOString().slice(0, 10));
    expect(bg.params).toMatchObject({
      r: report.bgnbd.params!.r,
      alpha: report.bgnbd.params!.alpha,
      a: report.bgnbd.params!.a,
      b: report.bgnbd.params!.b,
      converged: 1,
    });
    expect(bg.log_likelihood).toBeCloseTo(report.bgnbd.logLikelihood!, 6);
    expect(bg.customers).toBe(30);
    // Only orders up to the as-of date count: THRIVE's last order (today) is not seen.
    const thriveOrders = (await ordersByCustomer(now)).get(await customerIdOf(db, 'THRIVE'))!;
    expect(thriveOrders.some((o) => (o.date as Date) > asOf)).toBe(true);
  });

  it('keeps the previous fit when a new one does not converge', async () => {
    const before = await db.db.selectFrom('model_fits').select(['id', 'model']).execute();
    const report = await fitModels(db.db, now, { store: true, now, maxIterations: 1 });
    const bg = report.bgnbd;
    expect(bg.converged).toBe(false);
    expect(bg.stored).toBe(false);
    expect(bg.fitId).toBe(String(before.find((f) => f.model === 'bgnbd')!.id));
    expect(bg.note).toMatch(/did not converge; keeping the fit/);
    const after = await db.db.selectFrom('model_fits').select('id').where('model', '=', 'bgnbd').execute();
    expect(after).toHaveLength(1);
  });

  it('the next rescore uses the latest stored fit', async () => {
    const params = { r: 0.9, alpha: 12, a: 0.7, b: 3.1 };
    const inserted = await db.db
      .insertInto('model_fits')
      .values({
        model: 'bgnbd',
        params: JSON.stringify({ ...params, converged: 1 }),
        log_likelihood: -1,
        customers: 30,
        as_of: '2020-01-01',
        fitted_at: new Date(now.getTime() + 1000),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const result = await rescoreNow(built.ctx, { mode: 'full' });
    expect(result.run.status).toBe('done');
    const context = result.run.context as { models: { bgnbd: { fitId: string; params: typeof params } } };
    expect(context.models.bgnbd.fitId).toBe(String(inserted.id));
    expect(context.models.bgnbd.params).toEqual(params);
    // P(alive) of a customer is the model's, from its own purchase summary, under these parameters.
    const asOf = result.run.as_of;
    const thriveId = await customerIdOf(db, 'THRIVE');
    const s = summarizePurchases((await ordersByCustomer(asOf)).get(thriveId)!, asOf)!;
    const score = await db.db.selectFrom('customer_scores').select('p_alive').where('customer_id', '=', thriveId).executeTakeFirstOrThrow();
    expect(score.p_alive!).toBeCloseTo(bgnbdPAlive(params, s.x, s.tx, s.T), 5);
  });

  it('the nightly fit job refits the purchase models, the health model and the renewal model, and stores each', async () => {
    await sql`UPDATE customers SET started_at = now() - interval '400 days', plan = 'pro'`.execute(db.db);
    const asOf = new Date(now.getTime() - 3600_000).toISOString();
    const out = (await rescoreHandlers.fit!(built.ctx, { asOf }, {} as never, undefined, new AbortController().signal)) as Record<string, string | null>;
    expect(Object.keys(out).sort()).toEqual(['bgnbd', 'gammagamma', 'health', 'renewal']);
    const kinds = await db.db.selectFrom('model_fits').select(['id', 'model']).where('as_of', '=', asOf.slice(0, 10)).execute();
    expect(kinds.map((k) => k.model)).toEqual(expect.arrayContaining(['health', 'renewal']));
    expect(String(kinds.find((k) => k.model === 'health')!.id)).toBe(out.health);
    expect(String(kinds.find((k) => k.model === 'renewal')!.id)).toBe(out.renewal);
    await sql`UPDATE customers SET started_at = NULL`.execute(db.db);
  });
});
