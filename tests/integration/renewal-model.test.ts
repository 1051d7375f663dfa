import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildContext, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { contractObservationCounts } from '../../src/renewals/renewal-model.repository.js';
import { paramsBySegment, tenureAtRenewal } from '../../src/renewals/renewal-model.rules.js';
import { fitRenewals, forecastQuarter, formatQuarterForecast, formatRenewalFit, type RenewalFitReport } from '../../src/renewals/renewal-model.service.js';
import { contractObservation, pooledChurnProbability, retentionRate } from '../../src/scoring/index.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/**
 * Fader & Hardie (2007), Table 1, through the database: two cohorts of 1,000
 * customers (plans "regular" and "high end") who all started on 1 January
 * 2015, each churning in the contract year the table says (dated mid-year),
 * the rest still active. Fitted as of the seventh anniversary, as the paper
 * did on years 0–7; the churn of years 8–12 is dated after it and must count
 * as still active then.
 */
const SBG_DIR = path.resolve(process.cwd(), '../shared/data/sbg');
const START = Date.UTC(2015, 0, 1);
const anniversary = (k: number) => new Date(Date.UTC(2015 + k, 0, 1));
const AS_OF = new Date(anniversary(7).getTime() + 3600_000);

function table1(): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of readFileSync(path.join(SBG_DIR, 'table1.csv'), 'utf8').split(/\r?\n/).slice(1)) {
    if (!line.trim()) continue;
    const [cohort, year, active] = line.split(',');
    const plan = cohort === 'high_end' ? 'high end' : cohort!;
    const list = out.get(plan) ?? [];
    list[Number(year)] = Number(active);
    out.set(plan, list);
  }
  return out;
}

const settings = { discountRate: 0.1, forecastLevel: 0.8, healthWeight: 0.5 };
let db: TestDb;
let built: Built;
let fit: RenewalFitReport;

beforeAll(async () => {
  db = await createTestDb('renewal_model');
  const rows: { id: string; plan: string; started: string; churned: string | null }[] = [];
  for (const [cohort, active] of table1()) {
    let n = 0;
    for (let t = 1; t < active.length; t++) {
      for (let i = 0; i < active[t - 1]! - active[t]!; i++) {
        rows.push({
          id: `${cohort}-${n++}`,
          plan: cohort,
          started: new Date(START).toISOString(),
          churned: new Date(Date.UTC(2015 + t - 1, 6, 1)).toISOString(),
        });
      }
    }
    for (let i = 0; i < active[active.length - 1]!; i++)
      rows.push({ id: `${cohort}-${n++}`, plan: cohort, started: new Date(START).toISOString(), churned: null });
  }
  await sql`
    INSERT INTO customers (external_id, name, plan, started_at, churned_at, status)
    SELECT r.id, r.id, r.plan, r.started::timestamptz, r.churned::timestamptz, CASE WHEN r.churned IS NULL THEN 'active' ELSE 'churned' END
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(id text, plan text, started text, churned text)`.execute(db.db);
  built = buildContext({ config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), logger: silentLogger, withQueues: false });
  fit = await fitRenewals(db.db, settings, AS_OF, { by: 'plan', kind: 'sbg', store: true, now: new Date() });
});

afterAll(async () => {
  await built?.close();
  await db?.drop();
});

describe('the renewal model on Fader & Hardie (2007) Table 1, through the database', () => {
  it('reproduces the published α, β and log-likelihood per cohort', () => {
    const high = fit.model.segments.find((s) => s.segment === 'high end')!;
    const regular = fit.model.segments.find((s) => s.segment === 'regular')!;
    expect(high.customers).toBe(1000);
    expect(high.churned).toBe(1000 - 491);
    expect(high.alpha!).toBeCloseTo(0.668, 3);
    expect(high.beta!).toBeCloseTo(3.806, 3);
    expect(high.logLikelihood!).toBeCloseTo(-1611.158, 2);
    expect(regular.alpha!).toBeCloseTo(0.704, 3);
    expect(regular.beta!).toBeCloseTo(1.182, 3);
    expect(regular.logLikelihood!).toBeCloseTo(-1680.265, 2);
    expect(high.uses).toBe('own');
  });

  it('says what the fit implies: next renewal and DERL, as the paper computes them', () => {
    const high = fit.model.segments.find((s) => s.segment === 'high end')!;
    // Every active high-end customer has completed 7 years: r(8), and DERL(10% | 7) ≈ 7.530.
    expect(high.nextPeriodRetention!).toBeCloseTo(retentionRate({ alpha: high.alpha!, beta: high.beta! }, 8), 10);
    expect(high.nextPeriodRetention!).toBeCloseTo(0.942, 3);
    expect(high.derlActive!).toBeCloseTo(7.53, 1);
    const text = formatRenewalFit(fit).join('\n');
    expect(text).toContain('renewal model (shifted-beta-geometric) as of 2022-01-01, by plan');
    expect(text).toMatch(/high end +1000 customers +509 churned +α +0\.668 +β +3\.806 +LL +-1611\.15\d +next renewal +94\.2%/);
    expect(text).toContain('stored as fit');
  });

  it('stores the fit with its date and segments', async () => {
    const row = await db.db.selectFrom('model_fits').selectAll().where('model', '=', 'renewal').executeTakeFirstOrThrow();
    expect(row.as_of).toBe('2022-01-01');
    expect((row.details as { segments: unknown[] }).segments).toHaveLength(2);
  });

  it('fits the beta-discrete-Weibull too, never worse than the sBG it nests', async () => {
    const bdw = await fitRenewals(db.db, settings, AS_OF, { by: 'plan', kind: 'bdw', store: false, now: new Date() });
    const high = bdw.model.segments.find((s) => s.segment === 'high end')!;
    expect(high.c).not.toBeNull();
    expect(high.logLikelihood!).toBeGreaterThanOrEqual(-1611.158 - 1e-6);
    expect(formatRenewalFit(bdw).join('\n')).toMatch(/beta-discrete-Weibull[\s\S]*high end .* c +\d+\.\d{3}/);
  });
});

describe('contract years counted in SQL as contractObservation counts them', () => {
  it('handles 29 February, churn on an anniversary, churn on the start day, and times of day', async () => {
    const asOf = new Date('2026-03-01T10:00:00Z');
    const cases: [string, string | null][] = [
      ['2024-02-29T12:00:00Z', null], // anniversaries on 28 February in common years: 2 completed
      ['2024-02-29T12:00:00Z', '2025-02-28T12:00:00Z'], // churn exactly on the first anniversary: period 1
      ['2024-02-29T12:00:00Z', '2025-02-28T11:59:59Z'], // a second before it: still period 1
      ['2024-02-29T12:00:00Z', '2025-02-28T12:00:01Z'], // a second after: period 2
      ['2025-06-01T00:00:00Z', '2025-06-01T00:00:00Z'], // churn on the start itself: period 1
      ['2023-03-01T11:00:00Z', null], // third anniversary an hour after as-of: 2 completed
      ['2023-03-01T09:00:00Z', null], // an hour before: 3 completed
      ['2020-01-15T00:00:00Z', '2027-01-01T00:00:00Z'], // churn after as-of: active, 6 completed
      ['2026-03-01T10:00:00Z', null], // started at as-of: 0 completed
    ];
    await sql`
      INSERT INTO customers (external_id, name, plan, started_at, churned_at, status)
      SELECT 'E' || i, 'edge', 'edge', (c->>0)::timestamptz, (c->>1)::timestamptz, CASE WHEN c->>1 IS NULL THEN 'active' ELSE 'churned' END
      FROM jsonb_array_elements(${JSON.stringify(cases)}::jsonb) WITH ORDINALITY AS x(c, i)`.execute(db.db);
    await sql`
      INSERT INTO customers (external_id, name, plan, started_at, churned_at, status) VALUES
        ('X1', 'no start', 'edge', NULL, NULL, 'active'),
        ('X2', 'later', 'edge', '2026-06-01T00:00:00Z', NULL, 'active'),
        ('X3', 'undated', 'edge', '2020-01-01T00:00:00Z', NULL, 'churned'),
        ('X4', 'backwards', 'edge', '2020-01-01T00:00:00Z', '2019-01-01T00:00:00Z', 'churned')`.execute(db.db);
    const { counts, leftOut } = await contractObservationCounts(db.db, asOf, 'plan');
    const got = counts
      .filter((c) => c.segment === 'edge')
      .map((c) => `${c.churned ? 'churned' : 'active'}:${c.periods}×${c.n}`)
      .sort();
    const want = new Map<string, number>();
    for (const [start, churn] of cases) {
      const o = contractObservation(start, churn, asOf)!;
      const key = `${o.churned ? 'churned' : 'active'}:${o.periods}`;
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    expect(got).toEqual([...want.entries()].map(([k, n]) => `${k}×${n}`).sort());
    expect(leftOut).toEqual({ noStart: 1, notStarted: 1, churnedUndated: 1, churnBeforeStart: 1 });
    await sql`DELETE FROM customers WHERE plan = 'edge'`.execute(db.db);
  });
});

describe('renewal forecast of a quarter', () => {
  it('gives each open renewal r(t) at its tenure, pooled with the health model’s chance, by team and segment', async () => {
    // Four active customers renewing in 2027-Q1, in two teams; one without a contract start.
    await sql`INSERT INTO teams (key, name) VALUES ('emea', 'EMEA'), ('apac', 'APAC')`.execute(db.db);
    await sql`
      INSERT INTO customers (external_id, name, plan, arr, renewal_date, started_at, team_id) VALUES
        ('Q1', 'Q one', 'high end', 100000, '2027-01-15', '2024-01-15T00:00:00Z', (SELECT id FROM teams WHERE key = 'emea')),
        ('Q2', 'Q two', 'regular', 20000, '2027-02-01', '2026-02-01T00:00:00Z', (SELECT id FROM teams WHERE key = 'emea')),
        ('Q3', 'Q three', 'regular', 50000, '2027-03-31', '2021-03-31T00:00:00Z', (SELECT id FROM teams WHERE key = 'apac')),
        ('Q4', 'Q four', 'regular', 10000, '2027-03-01', NULL, (SELECT id FROM teams WHERE key = 'apac')),
        ('Q5', 'next quarter', 'regular', 10000, '2027-04-01', '2026-04-01T00:00:00Z', NULL)`.execute(db.db);
    // Q2's latest score carries a chance of churn from the health model.
    await sql`
      INSERT INTO scoring_runs (id, kind, as_of) VALUES (9001, 'full', now());
      `.execute(db.db);
    await sql`
      INSERT INTO customer_scores (customer_id, run_id, scored_at, health, band, churn_probability, churn_horizon_days)
      SELECT id, 9001, now(), 30, 'red', 0.6, 90 FROM customers WHERE external_id = 'Q2'`.execute(db.db);
    const report = await forecastQuarter(db.db, settings, { key: '2027-Q1', start: '2027-01-01', end: '2027-03-31' });
    const params = paramsBySegment(fit.model);
    const r = (seg: string, t: number) => retentionRate(params[seg]!, t);
    expect(tenureAtRenewal(new Date('2024-01-15T00:00:00Z'), '2027-01-15')).toBe(3);
    const expected = r('high end', 3) + (1 - pooledChurnProbability(1 - r('regular', 1), 0.6, 0.5)) + r('regular', 6);
    const f = report.forecast.overall;
    expect(report.open).toBe(4);
    expect(f.renewals).toBe(3);
    expect(f.expectedRenewals).toBeCloseTo(expected, 10);
    expect(f.expectedArrAtRisk).toBeCloseTo(
      100000 * (1 - r('high end', 3)) + 20000 * pooledChurnProbability(1 - r('regular', 1), 0.6, 0.5) + 50000 * (1 - r('regular', 6)),
      4,
    );
    expect(f.arrAtRiskInterval.low).toBeLessThanOrEqual(f.expectedArrAtRisk);
    expect(f.arrAtRiskInterval.high).toBeGreaterThanOrEqual(f.expectedArrAtRisk);
    expect(report.forecast.unforecast).toBe(1);
    expect(report.forecast.byTeam.map((t) => [t.team, t.forecast.renewals])).toEqual([
      ['apac', 1],
      ['emea', 2],
    ]);
    const text = formatQuarterForecast(report).join('\n');
    expect(text).toContain('renewal forecast 2027-Q1 (2027-01-01 … 2027-03-31) — 4 renewals open; renewal model as of 2022-01-01 (sBG by plan)');
    expect(text).toMatch(/expected renewals \d\.\d of 3 \(80% interval \d–\d\): expected renewal rate \d+\.\d%/);
    expect(text).toMatch(/ARR at risk \$[\d.]+K expected \(80% interval \$[\d.]+K?–\$[\d.]+K\)/);
    expect(text).toMatch(/emea +2 open +expected rate/);
    expect(text).toContain('1 renewal not forecast: no contract start and no chance of churn');
    // Each open renewal's own chance, the most ARR at risk first: Q1's $100K at r(3) leads.
    expect(report.riskiest.map((x) => x.name)).toEqual(['Q one', 'Q two', 'Q three']);
    expect(report.riskiest[0]!.renewProbability).toBeCloseTo(r('high end', 3), 10);
    expect(text).toMatch(/most ARR at risk:\n +Q one +2027-01-15 +\$100\.0K +chance of renewing +\d+\.\d% +\(emea\)/);
  });
});
