import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildContext, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { formatBacktestReport, runBacktest, type BacktestReport } from '../../src/scores/backtest.service.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { loadCustomersCsv, loadEventsCsv } from '../helpers/fixtures.js';

const DAY = 86_400_000;
const now = new Date();
/** The backtest date: 120 days ago, end of that day. */
const asOf = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 120, 23, 59, 59, 999));
const at = (daysBeforeAsOf: number, hour = 10) => {
  const d = new Date(asOf.getTime() - daysBeforeAsOf * DAY);
  d.setUTCHours(hour, 0, 0, 0);
  return d;
};

let db: TestDb;
let built: Built;
let report: BacktestReport;

/**
 * 30 healthy survivors; 10 accounts that slipped before the date and churned
 * 10–80 days after it; one more whose renewal was marked churned in the
 * window; 4 that had churned before the date (not in the population); one
 * customer whose data all comes after the date (not in the population).
 * After the date, survivors get complaints — which the replay must not see.
 */
async function seed(): Promise<void> {
  const customers = ['external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team'];
  const events = ['customer_external_id,kind,occurred_at,value,external_id'];
  const touches: { c: string; at: Date }[] = [];
  let n = 0;
  const ev = (c: string, kind: string, when: Date, value: number | null) => events.push(`${c},${kind},${when.toISOString()},${value ?? ''},e${++n}`);
  const history = (c: string, i: number, declineFrom: number | null, stopOrdersAt: number | null) => {
    const every = 20 + ((i * 13) % 50);
    for (let d = 420 + (i % 6) * 10; d >= -110; d -= every) {
      if (stopOrdersAt !== null && d < stopOrdersAt) break;
      ev(c, 'order', at(d), 300 + i * 25);
    }
    for (let d = 180; d >= -110; d -= 7) {
      if (declineFrom !== null && d < 0) break; // churners: nothing after the date
      const level = declineFrom !== null && d < declineFrom ? Math.max(2, 40 * (d / declineFrom)) : 40 + (i % 5);
      ev(c, 'usage', at(d), Math.round(level));
    }
  };
  for (let i = 0; i < 30; i++) {
    const c = `S${i}`;
    customers.push(`${c},Survivor ${i},s${i}.example,pro,${20_000 + i * 3_000},USD,,,`);
    history(c, i, null, null);
    // The book's feeds keep arriving up to the date: NPS answers, the odd
    // complaint or failed payment (otherwise they would look stale).
    ev(c, 'nps', at(i), 8);
    if (i % 2 === 0) ev(c, 'complaint', at(1 + i * 6), null);
    if (i % 5 === 0) ev(c, 'payment_failed', at(2 + i * 3), null);
    for (let d = 200; d >= -100; d -= 25 + (i % 10)) touches.push({ c, at: at(d) });
    // After the date: complaints the replay must not see.
    ev(c, 'complaint', at(-20), null);
    ev(c, 'complaint', at(-25), null);
  }
  for (let i = 0; i < 10; i++) {
    const c = `C${i}`;
    customers.push(`${c},Churner ${i},c${i}.example,pro,${20_000 + i * 5_000},USD,,,`);
    history(c, i + 30, 50, 80 + (i % 4) * 10);
    ev(c, 'complaint', at(5 + i), null);
    ev(c, 'complaint', at(12 + i), null);
    if (i % 2 === 0) ev(c, 'complaint', at(20 + i), null);
    if (i % 3 !== 0) ev(c, 'payment_failed', at(10 + i), null);
    ev(c, 'nps', at(20 + i), 3);
    touches.push({ c, at: at(150 + i * 5) });
  }
  customers.push('R0,Renewal Lost,r0.example,pro,40000,USD,,,');
  history('R0', 41, 40, 70);
  ev('R0', 'complaint', at(8), null);
  touches.push({ c: 'R0', at: at(170) });
  for (let i = 0; i < 4; i++) {
    const c = `P${i}`;
    customers.push(`${c},Churned Before ${i},p${i}.example,starter,5000,USD,,,`);
    history(c, i + 50, 40, 60);
  }
  customers.push('LATE,Late Joiner,late.example,pro,30000,USD,,,');
  for (let d = -10; d >= -100; d -= 7) ev('LATE', 'usage', at(d), 30);
  ev('LATE', 'order', at(-50), 900);

  expect((await loadCustomersCsv(db, `${customers.join('\n')}\n`)).problems).toEqual([]);
  expect((await loadEventsCsv(db, `${events.join('\n')}\n`)).problems).toEqual([]);
  await sql`
    INSERT INTO interactions (customer_id, author_slack_id, kind, note, occurred_at)
    SELECT c.id, 'U0TEST', 'call', '', t.at::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(touches.map((t) => ({ c: t.c, at: t.at.toISOString() })))}::jsonb) AS t(c text, at text)
    JOIN customers c ON c.external_id = t.c`.execute(db.db);
  const churned = [
    ...Array.from({ length: 10 }, (_, i) => ({ c: `C${i}`, at: new Date(asOf.getTime() + (10 + i * 7) * DAY).toISOString() })),
    ...Array.from({ length: 4 }, (_, i) => ({ c: `P${i}`, at: new Date(asOf.getTime() - (20 + i) * DAY).toISOString() })),
  ];
  await sql`
    UPDATE customers c SET status = 'churned', churned_at = x.at::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(churned)}::jsonb) AS x(c text, at text) WHERE c.external_id = x.c`.execute(db.db);
  await sql`
    INSERT INTO renewals (customer_id, renewal_date, outcome, decided_at)
    SELECT id, ${new Date(asOf.getTime() + 40 * DAY).toISOString().slice(0, 10)}::date, 'churned', ${new Date(asOf.getTime() + 40 * DAY)}::timestamptz
    FROM customers WHERE external_id = 'R0'`.execute(db.db);
}

const count = async (table: 'customer_scores' | 'score_history' | 'model_fits' | 'run_population') =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db.db)).rows[0]!.n);

beforeAll(async () => {
  db = await createTestDb('backtest');
  await seed();
  built = buildContext({ config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), logger: silentLogger, withQueues: false });
  report = await runBacktest(built.ctx, { asOf, horizonDays: 90 });
});

afterAll(async () => {
  await built?.close();
  await db?.drop();
});

describe('backtest', () => {
  it('replays the customers active and known at the date', () => {
    // 30 survivors + 10 churners + R0; not the 4 churned before, nor the late joiner.
    expect(report.population).toBe(41);
    expect(report.scored).toBe(41);
    expect(report.churners).toBe(11);
    expect(report.survivors).toBe(30);
  });

  it('ranks the accounts that churned above those that stayed', () => {
    expect(report.auc).not.toBeNull();
    expect(report.auc!).toBeGreaterThan(0.8);
    expect(report.bandsOfChurners.green).toBeLessThan(report.churners);
  });

  it('reports precision and recall of the churn warning as configured', () => {
    const w = report.warning;
    expect(w.truePositives + w.falseNegatives).toBe(11);
    expect(w.truePositives + w.falsePositives + w.falseNegatives + w.trueNegatives).toBe(41);
    // Most warnings point at accounts that did churn; some churners are caught.
    expect(w.precision!).toBeGreaterThanOrEqual(0.5);
    expect(w.truePositives).toBeGreaterThan(0);
    expect(w.recall).toBeCloseTo(w.truePositives / 11, 10);
    const red = report.rules.find((r) => r.rule === 'red band')!;
    expect(red.truePositives).toBe(report.bandsOfChurners.red);
    expect(report.rules.map((r) => r.rule)).toEqual(['red band', 'P(alive) < 0.3', 'drop ≥ 15 in 14 days']);
  });

  it('says which churn it judged by: contractual, since the book records it', () => {
    expect(report.churn).toBe('status');
    expect(formatBacktestReport(report).join('\n')).toContain(
      'churn: status: marked churned or a renewal lost within 90 days — the book records contractual churn',
    );
  });

  it('reports the AUC with a bootstrap interval, PR-AUC, lift, and the health model it replayed with', () => {
    expect(report.aucInterval!.low).toBeLessThanOrEqual(report.auc!);
    expect(report.aucInterval!.high).toBeGreaterThanOrEqual(report.auc!);
    expect(report.averagePrecision!).toBeGreaterThan(11 / 41);
    expect(report.lift!.lift!).toBeGreaterThan(1);
    // The history before the date holds no churn to learn from: configured weights, no chance of churn, said so.
    expect(report.health.model.use).toBe('configured');
    expect(report.brier).toBeNull();
    expect(report.atThreshold).toBeNull();
    const text = formatBacktestReport(report).join('\n');
    expect(text).toMatch(/AUC \(risk = 100 − health\): \d\.\d{3} \(95% bootstrap interval \d\.\d{3}–\d\.\d{3}\)/);
    expect(text).toMatch(/PR-AUC \d\.\d{3}/);
    expect(text).toMatch(
      /health model fitted as of \d{4}-\d{2}-\d{2} on 3 earlier dates, 1 more held out \(not stored\): configured weights — no churn in the history/,
    );
  });

  it('does not see what happened after the date', async () => {
    // Survivors got two complaints each after the date; as of the date they had none.
    expect(report.bandsOfSurvivors.green).toBeGreaterThanOrEqual(25);
    expect(report.fit.asOfDate).toBe(asOf.toISOString().slice(0, 10));
    expect(report.fit.bgnbd.params).not.toBeNull();
  });

  it('writes nothing but its own run row', async () => {
    expect(await count('customer_scores')).toBe(0);
    expect(await count('score_history')).toBe(0);
    expect(await count('model_fits')).toBe(0);
    expect(await count('run_population')).toBe(0);
    const runs = await db.db.selectFrom('scoring_runs').selectAll().execute();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ kind: 'backtest', status: 'done', customers_scored: 41 });
  });

  it('prints a report a person can read', () => {
    const text = formatBacktestReport(report).join('\n');
    expect(text).toMatch(/backtest as of \d{4}-\d{2}-\d{2}, horizon 90 days/);
    expect(text).toMatch(/churned within the horizon: 11/);
    expect(text).toMatch(/AUC \(risk = 100 − health\): [01]\.\d{3}/);
    expect(text).toMatch(/churn warning as configured: precision \d+\.\d%, recall \d+\.\d%/);
    expect(text).toContain('customer_scores and score_history were not touched.');
  });
});
