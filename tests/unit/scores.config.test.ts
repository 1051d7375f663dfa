import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env.js';
import { parseFileConfig } from '../../src/config/file.js';
import { scoringConfigFrom } from '../../src/scores/scoring.config.js';
import { DEFAULT_SCORING_CONFIG } from '../../src/scoring/index.js';

const defaults = parseFileConfig({});

function linesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).lines;
  }
  throw new Error('expected a ConfigError');
}

describe('scoringConfigFrom', () => {
  it('maps the defaults onto the scorecard defaults (bands.red is the yellow threshold)', () => {
    const s = scoringConfigFrom(defaults);
    expect(s.health.weights).toEqual(DEFAULT_SCORING_CONFIG.weights);
    expect(s.health.bands).toEqual({ green: 70, yellow: 40 });
    expect(s.health.cadenceDays).toEqual({ A: 30, B: 90, C: 180 });
    expect(s.tiers).toEqual({ a: 0.8, b: 0.95 });
    expect(s.batchSize).toBe(2000);
    expect(s.clv).toEqual({ horizonMonths: 12, annualDiscountRate: 0.1 });
  });

  it('takes the configured weights, bands and cadence', () => {
    const s = scoringConfigFrom(parseFileConfig({ scoring: { weights: { nps: 0 }, bands: { green: 80, red: 50 }, cadenceDays: { A: 14 } } }));
    expect(s.health.weights.nps).toBe(0);
    expect(s.health.bands).toEqual({ green: 80, yellow: 50 });
    expect(s.health.cadenceDays.A).toBe(14);
  });

  it('names each bad setting on its own line', () => {
    const bad = {
      scoring: {
        ...defaults.scoring,
        weights: { ...defaults.scoring.weights, engagement: -0.5, nps: Number.NaN },
        bands: { green: 30, red: 60 },
        cadenceDays: { ...defaults.scoring.cadenceDays, B: 0 },
        tierShares: { A: 0.9, B: 0.5 },
      },
    };
    const lines = linesOf(() => scoringConfigFrom(bad));
    expect(lines).toContain('invalid RETAIN_CONFIG setting scoring.weights.engagement: must not be negative, got -0.5');
    expect(lines).toContain('invalid RETAIN_CONFIG setting scoring.weights.nps: must be a number, got NaN');
    expect(lines).toContain('invalid RETAIN_CONFIG setting scoring.bands.red: 60 must be below bands.green (30)');
    expect(lines.some((l) => l.startsWith('invalid RETAIN_CONFIG setting scoring.cadenceDays.B:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('invalid RETAIN_CONFIG setting scoring.tierShares:'))).toBe(true);
  });

  it('rejects a config whose weights are all zero', () => {
    const zero = Object.fromEntries(Object.keys(defaults.scoring.weights).map((k) => [k, 0]));
    const lines = linesOf(() => scoringConfigFrom({ scoring: { ...defaults.scoring, weights: zero as typeof defaults.scoring.weights } }));
    expect(lines).toEqual(['invalid RETAIN_CONFIG setting scoring.weights: at least one weight must be positive']);
  });
});
