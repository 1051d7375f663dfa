import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildContext, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { parseAsOf } from '../../src/scores/as-of.js';
import { formatBacktestReport, runBacktest, type BacktestReport } from '../../src/scores/backtest.service.js';
import { bgParams } from '../../src/scores/fit.service.js';
import { auc } from '../../src/scoring/backtest.js';
import { bgnbdExpectedRepeat } from '../../src/scoring/bgnbd.js';
import { countPurchaseDaysBetween, summarizePurchases } from '../../src/scoring/purchases.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { CALIBRATION_END, HOLDOUT_END, loadCdnowOrders } from '../unit/scoring/cdnow.js';

/**
 * The CDNOW cohort (2,357 customers, first purchase in Q1 1997) in the
 * database, replayed as of the end of the paper's calibration period
 * (1997-09-30) and judged by lapse — no order in the 39-week (273-day)
 * holdout. A book of orders records no contractual churn, so the backtest
 * picks lapse itself. The health score (only the purchase measure has data
 * here) must rank lapse at least as well as the BG/NBD's own forecast for the
 * holdout, E[Y(39 weeks) | x, t_x, T], on the same customers.
 */
let db: TestDb;
let built: Built;
let report: BacktestReport;
const orders = loadCdnowOrders();

beforeAll(async () => {
  db = await createTestDb('bt_cdnow');
  const customers = [...orders.keys()].sort((a, b) => a - b);
  await sql`
    INSERT INTO customers (external_id, name)
    SELECT 'CD' || lpad(id::text, 4, '0'), 'CDNOW customer ' || id FROM unnest(${customers}::int[]) AS id`.execute(db.db);
  const rows: { c: string; at: string; v: number; k: string }[] = [];
  for (const [id, list] of orders) {
    list.forEach((o, i) => rows.push({ c: `CD${String(id).padStart(4, '0')}`, at: `${o.date as string}T12:00:00Z`, v: o.amount, k: `cd-${id}-${i}` }));
  }
  await sql`
    INSERT INTO signals (customer_id, kind, occurred_at, value, external_id, dedupe_key)
    SELECT c.id, 'order', r.at::timestamptz, r.v, r.k, r.k
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(c text, at text, v numeric, k text)
    JOIN customers c ON c.external_id = r.c`.execute(db.db);
  built = buildContext({ config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), logger: silentLogger, withQueues: false });
  report = await runBacktest(built.ctx, { asOf: parseAsOf(CALIBRATION_END), horizonDays: 273 });
}, 120_000);

afterAll(async () => {
  await built?.close();
  await db?.drop();
});

describe('backtest on CDNOW, lapse in the 39-week holdout', () => {
  it('picks lapse for a book of orders, and says so', () => {
    expect(report.churn).toBe('lapse');
    const text = formatBacktestReport(report).join('\n');
    expect(text).toContain(
      'churn: lapse: no order within 273 days (customers with an order by then) — the book records no contractual churn, so churn is read from orders',
    );
  });

  it('judges every customer of the cohort, lapsed exactly when they bought nothing in the holdout', () => {
    const lapsed = [...orders.values()].filter((list) => countPurchaseDaysBetween(list, CALIBRATION_END, HOLDOUT_END) === 0).length;
    expect(report.population).toBe(2357);
    expect(report.judged).toBe(2357);
    expect(report.scored).toBe(2357);
    expect(report.churners).toBe(lapsed);
  });

  it('fits the purchase model as of the date as the paper did', () => {
    const bg = report.fit.bgnbd.params!;
    expect(bg.r!).toBeCloseTo(0.2426, 3);
    expect(bg.alpha!).toBeCloseTo(4.414, 2);
    expect(bg.a!).toBeCloseTo(0.7929, 3);
    expect(bg.b!).toBeCloseTo(2.426, 2);
  });

  it('reports an AUC with its interval, PR-AUC and lift', () => {
    expect(report.auc).not.toBeNull();
    expect(report.auc!).toBeGreaterThan(0.7);
    expect(report.aucInterval!.low).toBeLessThan(report.auc!);
    expect(report.aucInterval!.high).toBeGreaterThan(report.auc!);
    expect(report.averagePrecision!).toBeGreaterThan(report.churners / report.scored);
    expect(report.lift!.lift!).toBeGreaterThan(1);
  });

  it('ranks lapse no worse than the BG/NBD conditional expectation E[Y(39 weeks)] on the same customers', () => {
    const params = bgParams(report.fit.bgnbd.params)!;
    const items = [...orders.values()].map((list) => {
      const s = summarizePurchases(list, CALIBRATION_END)!;
      return { risk: -bgnbdExpectedRepeat(params, 39, s.x, s.tx, s.T), churned: countPurchaseDaysBetween(list, CALIBRATION_END, HOLDOUT_END) === 0 };
    });
    const aucExpected = auc(items)!;
    expect(report.aucExpectedOrders!).toBeCloseTo(aucExpected, 3);
    expect(report.auc!).toBeGreaterThanOrEqual(aucExpected);
    console.info(`CDNOW lapse backtest: AUC of the health score ${report.auc!.toFixed(4)}, of E[Y(39 weeks)] ${aucExpected.toFixed(4)}`);
  });
});
