import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bandFor,
  DEFAULT_SCORING_CONFIG,
  MEASURE_KEYS,
  scoreHealth,
  validateScoringConfig,
  withScoringDefaults,
  type HealthInput,
  type ScoringConfig,
} from '../../../src/scoring/scorecard.js';

const weightOf = (score: ReturnType<typeof scoreHealth>, key: string): number | undefined => score.measures.find((m) => m.key === key)?.weight;

describe('health scorecard', () => {
  it('uses the default weights when every measure is present', () => {
    const score = scoreHealth({
      usageLast30: 30,
      usagePrev60: 60,
      pAlive: 0.9,
      complaintAgesDays: [],
      sentimentMean: 0,
      sentimentCount: 3,
      daysSinceLastTouch: 10,
      tier: 'A',
      paymentFailures90d: 0,
      latestNps: 8,
      latestNpsAgeDays: 20,
    });
    expect(score.missing).toEqual([]);
    expect(score.measures.map((m) => [m.key, m.weight, m.score])).toEqual([
      ['engagement', 0.25, 80],
      ['purchase', 0.2, 90],
      ['complaints', 0.15, 100],
      ['sentiment', 0.1, 50],
      ['cadence', 0.15, 100],
      ['payments', 0.1, 100],
      ['nps', 0.05, 80],
    ]);
    // 20 + 18 + 15 + 5 + 15 + 10 + 4
    expect(score.health).toBe(87);
    expect(score.band).toBe('green');
  });

  it('leaves a missing measure out and re-normalises the rest — never scores it as zero', () => {
    const onlyPurchase = scoreHealth({ pAlive: 0.8 });
    expect(onlyPurchase.health).toBe(80);
    expect(weightOf(onlyPurchase, 'purchase')).toBe(1);
    expect(onlyPurchase.missing).toEqual(['engagement', 'complaints', 'sentiment', 'cadence', 'payments', 'nps']);

    const withNulls = scoreHealth({ pAlive: 0.8, usageLast30: null, usagePrev60: 10, latestNps: null, paymentFailures90d: Number.NaN });
    expect(withNulls.health).toBe(80);

    // 0.2 × 100 + 0.1 × 50, over 0.3
    const two = scoreHealth({ pAlive: 1, paymentFailures90d: 1 });
    expect(weightOf(two, 'purchase')).toBeCloseTo(2 / 3, 12);
    expect(weightOf(two, 'payments')).toBeCloseTo(1 / 3, 12);
    expect(two.health).toBe(83);
  });

  it('treats a measured zero as data: no complaints and no failed payments score 100', () => {
    const score = scoreHealth({ complaintAgesDays: [], paymentFailures90d: 0 });
    expect(score.health).toBe(100);
    expect(score.missing).not.toContain('complaints');
  });

  it('returns no health (not 0) when no measure has data', () => {
    const score = scoreHealth({});
    expect(score.health).toBeNull();
    expect(score.band).toBeNull();
    expect(score.missing).toEqual([...MEASURE_KEYS]);
  });

  it('bands at the thresholds: ≥ 70 green, 40–69 yellow, < 40 red', () => {
    expect(scoreHealth({ pAlive: 0.7 }).band).toBe('green');
    expect(scoreHealth({ pAlive: 0.69 }).band).toBe('yellow');
    expect(scoreHealth({ pAlive: 0.4 }).band).toBe('yellow');
    expect(scoreHealth({ pAlive: 0.39 }).band).toBe('red');
    expect([70, 69, 40, 39].map((h) => bandFor(h))).toEqual(['green', 'yellow', 'yellow', 'red']);
    const strict = withScoringDefaults({ bands: { green: 80, yellow: 50 } });
    expect(scoreHealth({ pAlive: 0.75 }, { config: strict }).band).toBe('yellow');
  });

  it('excludes the measures the caller marks stale', () => {
    const input: HealthInput = { usageLast30: 0, usagePrev60: 100, pAlive: 0.9 };
    expect(scoreHealth(input).health).toBe(40); // (0.25 × 0 + 0.2 × 90) / 0.45
    const score = scoreHealth(input, { exclude: new Set(['engagement'] as const) });
    expect(score.health).toBe(90);
    expect(score.excluded).toEqual(['engagement']);
    expect(score.measures.map((m) => m.key)).toEqual(['purchase']);
  });

  it('maps each measure to 0–100 as documented', () => {
    const one = (input: HealthInput): number => scoreHealth(input).measures[0]!.score;
    expect(one({ usageLast30: 30, usagePrev60: 120 })).toBeCloseTo(40, 12); // rate halved
    expect(one({ usageLast30: 75, usagePrev60: 120 })).toBeCloseTo(100, 12); // +25%
    expect(one({ usageLast30: 10, usagePrev60: 0 })).toBe(100);
    expect(one({ usageLast30: 0, usagePrev60: 0 })).toBe(0);
    expect(one({ complaintAgesDays: [0] })).toBeCloseTo(50, 12);
    expect(one({ complaintAgesDays: [30] })).toBeCloseTo(100 * Math.SQRT1_2, 10); // half weight
    expect(one({ complaintAgesDays: [120] })).toBe(100); // older than 90 days
    expect(one({ sentimentMean: -1, sentimentCount: 2 })).toBe(0);
    expect(one({ daysSinceLastTouch: 30, tier: 'A' })).toBe(100);
    expect(one({ daysSinceLastTouch: 60, tier: 'A' })).toBe(50);
    expect(one({ daysSinceLastTouch: 60, tier: 'B' })).toBe(100);
    expect(one({ daysSinceLastTouch: null, tier: 'C' })).toBe(0);
    expect(one({ paymentFailures90d: 2 })).toBe(20);
    expect(one({ latestNps: 9, latestNpsAgeDays: 10 })).toBe(90);
    expect(scoreHealth({ latestNps: 9, latestNpsAgeDays: 400 }).missing).toContain('nps');
  });

  it('property: health is an integer in 0–100 (or null with no data) for any input', () => {
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const anyNumber = fc.oneof(fc.double(), fc.integer({ min: -1000, max: 1000 }), fc.constant(Number.NaN));
    fc.assert(
      fc.property(
        fc.record({
          usageLast30: maybe(anyNumber),
          usagePrev60: maybe(anyNumber),
          pAlive: maybe(anyNumber),
          complaintAgesDays: maybe(fc.array(anyNumber, { maxLength: 8 })),
          sentimentMean: maybe(anyNumber),
          sentimentCount: maybe(anyNumber),
          daysSinceLastTouch: fc.option(anyNumber, { nil: null }),
          tier: maybe(fc.constantFrom('A' as const, 'B' as const, 'C' as const)),
          paymentFailures90d: maybe(anyNumber),
          latestNps: maybe(anyNumber),
          latestNpsAgeDays: maybe(anyNumber),
        }),
        (input) => {
          const score = scoreHealth(input);
          if (score.measures.length === 0) {
            expect(score.health).toBeNull();
            return;
          }
          expect(Number.isInteger(score.health)).toBe(true);
          expect(score.health).toBeGreaterThanOrEqual(0);
          expect(score.health).toBeLessThanOrEqual(100);
          expect(score.measures.reduce((s, m) => s + m.weight, 0)).toBeCloseTo(1, 12);
          for (const m of score.measures) {
            expect(m.score).toBeGreaterThanOrEqual(0);
            expect(m.score).toBeLessThanOrEqual(100);
          }
          expect(score.drivers.length).toBeLessThanOrEqual(3);
        },
      ),
    );
  });
});

describe('scoring config validation', () => {
  it('accepts the defaults', () => {
    expect(validateScoringConfig(DEFAULT_SCORING_CONFIG)).toEqual([]);
    const sum = Object.values(DEFAULT_SCORING_CONFIG.weights).reduce((s, w) => s + w, 0);
    expect(sum).toBeCloseTo(1, 12);
  });

  it('reports negative weights, all-zero weights and thresholds out of order, all at once', () => {
    const negative = withScoringDefaults({ weights: { nps: -0.1 } });
    expect(validateScoringConfig(negative)).toEqual(['weights.nps must not be negative, got -0.1']);

    const zeros = withScoringDefaults({
      weights: { engagement: 0, purchase: 0, complaints: 0, sentiment: 0, cadence: 0, payments: 0, nps: 0 },
    });
    expect(validateScoringConfig(zeros)).toEqual(['at least one weight must be positive']);

    const outOfOrder = withScoringDefaults({ bands: { green: 40, yellow: 70 }, cadenceDays: { A: 0 } });
    expect(validateScoringConfig(outOfOrder)).toEqual([
      'bands.yellow (70) must be below bands.green (40)',
      'cadenceDays.A must be a positive number of days, got 0',
    ]);

    const outOfRange = withScoringDefaults({ bands: { green: 120 } });
    expect(validateScoringConfig(outOfRange)).toEqual(['bands must lie within 0–100 (yellow 40, green 120)']);

    const unknownKey = { ...DEFAULT_SCORING_CONFIG, weights: { ...DEFAULT_SCORING_CONFIG.weights, mood: 1 } } as ScoringConfig;
    expect(validateScoringConfig(unknownKey)[0]).toMatch(/weights.mood is not a measure/);
  });

  it('re-normalises configured weights that do not sum to 1', () => {
    const doubled = withScoringDefaults({ weights: { purchase: 0.4, payments: 0.2 } });
    expect(scoreHealth({ pAlive: 1, paymentFailures90d: 1 }, { config: doubled }).health).toBe(83);
  });
});
