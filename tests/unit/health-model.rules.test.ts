import { describe, expect, it } from 'vitest';
import {
  calibrationApplies,
  chooseHealthModel,
  defaultChurnDefinition,
  healthOfMeasures,
  healthRowBuilder,
  healthUnder,
  parseHealthModel,
  weightsFromCoefficients,
  type ChooseOptions,
} from '../../src/scores/health-model.rules.js';
import { DEFAULT_SCORING_CONFIG, NEUTRAL_SCORES, seededRandom, sigmoid, type MeasureKey } from '../../src/scoring/index.js';

const configured = DEFAULT_SCORING_CONFIG.weights;
const options = (over: Partial<ChooseOptions> = {}): ChooseOptions => ({
  horizonDays: 90,
  churn: 'status',
  configuredWeights: configured,
  l2: 0.001,
  targetPrecision: 0.5,
  trainingOrigins: ['2026-01-01', '2026-04-01', '2026-07-01'],
  validationOrigin: '2026-10-01',
  ...over,
});

/** Customers with NPS and payments measured, churning with log-odds b0 + Σ β (score − neutral). */
function simulate(n: number, seed: number, beta: Partial<Record<MeasureKey, number>>, b0: number) {
  const random = seededRandom(seed);
  const rows = healthRowBuilder(16);
  for (let i = 0; i < n; i++) {
    const measures = [
      { key: 'nps', score: 10 * Math.floor(random() * 11) },
      { key: 'payments', score: [100, 100, 50, 20, 0][Math.floor(random() * 5)]! },
      { key: 'engagement', score: 100 * random() },
    ];
    let z = b0;
    for (const m of measures) z += (beta[m.key as MeasureKey] ?? 0) * (m.score - NEUTRAL_SCORES[m.key as MeasureKey]);
    rows.add(measures, healthOfMeasures(configured, measures), random() < sigmoid(z));
  }
  return rows.rows();
}

describe('the health model’s pieces', () => {
  it('computes health as the scorecard does: weighted mean over the measures present, renormalised', () => {
    const rows = healthRowBuilder(1);
    rows.add(
      [
        { key: 'nps', score: 40 },
        { key: 'payments', score: 100 },
      ],
      0,
      false,
    );
    rows.add([], 0, false); // grows past its capacity
    const w = { ...configured };
    expect(healthUnder(w, rows.rows(), 0)).toBeCloseTo((0.05 * 40 + 0.1 * 100) / 0.15, 10);
    expect(healthUnder(w, rows.rows(), 1)).toBeNaN();
    expect(
      healthOfMeasures(w, [
        { key: 'nps', score: 40 },
        { key: 'payments', score: 100 },
      ]),
    ).toBeCloseTo(80, 10);
  });

  it('turns log-odds per point into weights: only measures that lower churn earn weight; the rest keep a token 1%', () => {
    const w = weightsFromCoefficients({ engagement: -0.01, purchase: 0, complaints: 0.02, sentiment: 0, cadence: 0, payments: -0.03, nps: -0.06 })!;
    expect(Object.values(w).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w.nps / w.payments).toBeCloseTo(0.0606 / 0.0306, 6);
    expect(w.complaints).toBeCloseTo(w.purchase, 12);
    expect(w.complaints).toBeGreaterThan(0);
    expect(weightsFromCoefficients({ engagement: 0, purchase: 0, complaints: 0.1, sentiment: 0, cadence: 0, payments: 0, nps: 0 })).toBeNull();
  });

  it('picks contractual churn where the book records it, else lapse', () => {
    expect(defaultChurnDefinition({ contractual: true, orders: true }).churn).toBe('status');
    expect(defaultChurnDefinition({ contractual: false, orders: true }).churn).toBe('lapse');
    expect(defaultChurnDefinition({ contractual: false, orders: false }).churn).toBe('status');
  });
});

describe('chooseHealthModel', () => {
  it('recovers the weights churn was drawn from, and uses them when they beat the configured ones on the held-out rows', () => {
    const beta = { nps: -0.05, payments: -0.02 };
    const m = chooseHealthModel(simulate(20_000, 1, beta, -1.5), simulate(5_000, 2, beta, -1.5), options());
    expect(m.coefficients!.nps).toBeCloseTo(-0.05, 2);
    expect(m.coefficients!.payments).toBeCloseTo(-0.02, 2);
    expect(Math.abs(m.coefficients!.engagement)).toBeLessThan(0.003);
    expect(m.use).toBe('learned');
    expect(m.weights).toEqual(m.learnedWeights);
    expect(m.validation!.aucLearned!).toBeGreaterThan(m.validation!.aucConfigured!);
    // Calibrated: the mean predicted chance on the training rows matches the churn rate.
    expect(m.calibration!.slope).toBeLessThan(0);
    expect(m.threshold!.precision).toBeGreaterThanOrEqual(0.5);
    expect(parseHealthModel(JSON.parse(JSON.stringify(m)))).toEqual(m);
  });

  it('keeps the configured weights when the learned ones rank no better out of sample', () => {
    // Churn follows the configured weights themselves (engagement matters most): nothing to gain.
    const beta = { engagement: -0.04, payments: -0.016, nps: -0.008 };
    const m = chooseHealthModel(simulate(3_000, 3, beta, -1.5), simulate(3_000, 4, beta, -1.5), options());
    expect(m.use).toBe('configured');
    expect(m.validation!.aucLearned!).toBeLessThanOrEqual(m.validation!.aucConfigured!);
    expect(m.reason).toMatch(/^configured weights kept: on the held-out 2026-10-01 the learned weights rank churn no better \(AUC 0\.\d{3} vs 0\.\d{3}\)$/);
    expect(m.weights).toEqual(m.configuredWeights);
    // The configured weights still get a calibrated chance of churn.
    expect(m.calibration).not.toBeNull();
  });

  it('keeps the configured weights, with no chance of churn, when the history holds no churn', () => {
    const rows = simulate(500, 5, {}, -1e9);
    const m = chooseHealthModel(rows, rows, options());
    expect(m.use).toBe('configured');
    expect(m.reason).toBe('no churn in the history (500 customers over 3 past dates): nothing to learn from; configured weights kept, no churn chance');
    expect(m.calibration).toBeNull();
    expect(m.threshold).toBeNull();
  });

  it('keeps the configured weights when the held-out date has no churn to validate on', () => {
    const m = chooseHealthModel(simulate(2_000, 6, { nps: -0.05 }, -1), simulate(300, 7, {}, -1e9), options());
    expect(m.use).toBe('configured');
    expect(m.reason).toContain('the held-out date 2026-10-01 has no churn among 300 customers');
    expect(m.calibration).not.toBeNull();
  });

  it('voids a configured calibration once the configured weights change', () => {
    const m = chooseHealthModel(simulate(2_000, 8, { engagement: -0.04 }, -1), null, options());
    expect(m.use).toBe('configured');
    expect(calibrationApplies(m, configured)).toBe(true);
    expect(calibrationApplies(m, { ...configured, nps: 0.5 })).toBe(false);
  });
});
