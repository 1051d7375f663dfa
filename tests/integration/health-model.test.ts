import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { customerCard } from '../../src/customers/card.blocks.js';
import { loadCard } from '../../src/customers/customer.repository.js';
import { buildContext, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { parseAsOf } from '../../src/scores/as-of.js';
import { fitHealthModel, formatHealthFit, type HealthFitReport } from '../../src/scores/health-fit.service.js';
import { rescoreNow } from '../../src/scores/rescore.runner.js';
import { scoringConfigFrom } from '../../src/scores/scoring.config.js';
import { MEASURE_KEYS, type MeasureKey } from '../../src/scoring/index.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { visibleText } from '../helpers/text.js';
import { loadHealthBook, type HealthBook } from './health-book.js';

const DAY = 86_400_000;
const today = new Date();
/** The end of yesterday (UTC): the simulated history ends there. */
const asOf = parseAsOf(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - 1)).toISOString().slice(0, 10));

/** Far from the configured weights on purpose: NPS and payments matter most, usage trend little. */
const TRUE: Partial<Record<MeasureKey, number>> = { nps: -0.045, payments: -0.03, complaints: -0.02, engagement: -0.004 };

function contextFor(db: TestDb): Built {
  return buildContext({ config: loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), logger: silentLogger, withQueues: false });
}

describe('health model learned from a book whose churn follows known weights', () => {
  let db: TestDb;
  let built: Built;
  let book: HealthBook;
  let report: HealthFitReport;

  beforeAll(async () => {
    db = await createTestDb('health_model');
    book = await loadHealthBook(db, { customers: 1500, asOf, quarters: 5, intercept: -3.4, coefficients: TRUE, seed: 7 });
    built = contextFor(db);
    report = await fitHealthModel(db.db, scoringConfigFrom(built.ctx.config.settings), asOf, { store: true, now: new Date(), logger: silentLogger });
  }, 240_000);

  afterAll(async () => {
    await built?.close();
    await db?.drop();
  });

  it('replays four past dates one horizon apart, holding the latest out, with the churn the book records', () => {
    expect(report.churn).toBe('status');
    expect(report.origins.map((o) => o.asOf)).toEqual([1, 2, 3, 4].map((k) => new Date(asOf.getTime() - k * 90 * DAY).toISOString().slice(0, 10)));
    expect(report.origins.map((o) => o.role)).toEqual(['validation', 'train', 'train', 'train']);
    // Every customer alive at a date is judged, and those who churned within 90 days are counted as churners.
    const byEnd = new Map(book.quarters.map((q) => [q.end.toISOString().slice(0, 10), q]));
    for (const o of report.origins) {
      expect(o.rows).toBe(byEnd.get(o.asOf)!.alive);
      expect(o.churners).toBe(byEnd.get(o.asOf)!.churned);
    }
  });

  it('recovers the weights churn was drawn from', () => {
    const m = report.model;
    for (const [key, truth] of Object.entries(TRUE) as [MeasureKey, number][]) {
      expect(Math.abs(m.coefficients![key] - truth)).toBeLessThan(Math.max(0.25 * Math.abs(truth), 0.004));
    }
    // Normalised, the learned weights follow the true effects' sizes: NPS first, the usage trend last of the four.
    const w = m.learnedWeights!;
    expect(w.nps).toBeGreaterThan(w.payments);
    expect(w.payments).toBeGreaterThan(w.complaints);
    expect(w.complaints).toBeGreaterThan(w.engagement);
    const total = Object.values(TRUE).reduce((a, b) => a + Math.abs(b), 0);
    expect(w.nps).toBeCloseTo(Math.abs(TRUE.nps!) / total, 1);
    // Measures the book has no data for get the token weight, not zero.
    for (const k of ['purchase', 'sentiment', 'cadence'] as const) expect(w[k]).toBeLessThan(0.02);
  });

  it('uses the learned weights because they rank churn better on the held-out date, and says so', () => {
    const m = report.model;
    expect(m.use).toBe('learned');
    expect(m.validation!.aucLearned!).toBeGreaterThan(m.validation!.aucConfigured!);
    expect(m.reason).toMatch(/^learned weights rank churn better on the held-out \d{4}-\d{2}-\d{2} \(never fitted on\): AUC 0\.\d{3} vs 0\.\d{3}/);
    expect(m.calibration!.slope).toBeLessThan(0);
    expect(m.threshold!.precision).toBeGreaterThanOrEqual(0.5);
    const text = formatHealthFit(report).join('\n');
    expect(text).toContain('USING LEARNED WEIGHTS');
    expect(text).toMatch(/alert threshold: chance of churn ≥ \d+\.\d% reaches precision/);
  });

  it('stores the fit with its date and figures', async () => {
    const row = await db.db.selectFrom('model_fits').selectAll().where('model', '=', 'health').executeTakeFirstOrThrow();
    expect(row.as_of).toBe(asOf.toISOString().slice(0, 10));
    expect(row.params).toMatchObject({ learned: 1, horizon_days: 90, auc_learned: report.model.validation!.aucLearned });
    expect((row.details as { use: string }).use).toBe('learned');
  });

  it('scores with the learned weights and puts a calibrated chance of churn on the card next to the health', async () => {
    await rescoreNow(built.ctx, { mode: 'full', asOf });
    const rows = await sql<{ churn_probability: number | null; churn_horizon_days: number | null; measures: { key: string; weight: number }[] }>`
      SELECT churn_probability, churn_horizon_days, measures FROM customer_scores`.execute(db.db);
    expect(rows.rows.length).toBeGreaterThan(500);
    for (const r of rows.rows) {
      expect(r.churn_probability).toBeGreaterThan(0);
      expect(r.churn_probability).toBeLessThan(1);
      expect(r.churn_horizon_days).toBe(90);
    }
    const withNps = rows.rows.find((r) => r.measures.some((m) => m.key === 'nps'))!;
    expect(withNps.measures.find((m) => m.key === 'nps')!.weight).toBeGreaterThan(0.3);
    // The riskiest account's card.
    const risky = await sql<{ id: string; p: number }>`
      SELECT customer_id::text AS id, churn_probability AS p FROM customer_scores ORDER BY churn_probability DESC LIMIT 1`.execute(db.db);
    const card = (await loadCard(db.db, risky.rows[0]!.id))!;
    const text = visibleText(customerCard(card, { now: new Date(asOf.getTime() + 3600_000), trend: '' }).blocks);
    expect(text).toMatch(new RegExp(`Health \\d+.*chance of churn in the next 90 days: ${Math.round(risky.rows[0]!.p * 100)}%`));
    // The drivers still say which measures moved it.
    expect(card.score!.drivers.length).toBeGreaterThan(0);
    expect(MEASURE_KEYS).toContain(card.score!.drivers[0]!.key);
  });
});

describe('health model on a book with no churn in its history', () => {
  let db: TestDb;
  let built: Built;
  let report: HealthFitReport;

  beforeAll(async () => {
    db = await createTestDb('health_nochurn');
    await loadHealthBook(db, { customers: 200, asOf, quarters: 5, intercept: -1e9, coefficients: TRUE, seed: 11 });
    built = contextFor(db);
    report = await fitHealthModel(db.db, scoringConfigFrom(built.ctx.config.settings), asOf, { store: true, now: new Date(), logger: silentLogger });
  }, 120_000);

  afterAll(async () => {
    await built?.close();
    await db?.drop();
  });

  it('falls back to the configured weights and says why', () => {
    const m = report.model;
    expect(m.use).toBe('configured');
    expect(m.reason).toMatch(/^no churn in the history \(\d+ customers over 3 past dates\): nothing to learn from; configured weights kept/);
    expect(m.weights).toEqual(m.configuredWeights);
    expect(m.calibration).toBeNull();
    expect(formatHealthFit(report).join('\n')).toContain('no calibrated chance of churn: the card shows none');
  });

  it('scores with the configured weights and shows no chance of churn', async () => {
    await rescoreNow(built.ctx, { mode: 'full', asOf });
    const rows = await sql<{ n: number; with_chance: number }>`
      SELECT count(*)::int AS n, count(churn_probability)::int AS with_chance FROM customer_scores`.execute(db.db);
    expect(rows.rows[0]!.n).toBe(200);
    expect(rows.rows[0]!.with_chance).toBe(0);
    const id = (await sql<{ id: string }>`SELECT customer_id::text AS id FROM customer_scores LIMIT 1`.execute(db.db)).rows[0]!.id;
    const card = (await loadCard(db.db, id))!;
    expect(visibleText(customerCard(card, { now: asOf, trend: '' }).blocks)).not.toContain('chance of churn');
    const weights = Object.fromEntries(card.score!.measures.map((m) => [m.key, m.weight]));
    expect(weights.engagement).toBeGreaterThan(weights.nps!);
  });
});
