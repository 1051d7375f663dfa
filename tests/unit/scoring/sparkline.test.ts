import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SPARK_BARS, sparkline } from '../../../src/scoring/sparkline.js';

describe('sparkline', () => {
  it('draws health scores on a fixed 0–100 scale, 12.5 points per bar', () => {
    expect(sparkline([0, 12.5, 25, 37.5, 50, 62.5, 75, 87.5, 100], { scale: 'health' })).toBe('▁▂▃▄▅▆▇██');
    expect(sparkline([82, 80, 71, 64, 45, 38], { scale: 'health' })).toBe('▇▇▆▆▄▄');
    expect(sparkline([82, 80, 71, 64, 45, 38], { min: 0, max: 100 })).toBe('▇▇▆▆▄▄');
    expect(sparkline([-10, 130], { scale: 'health' })).toBe('▁█');
  });

  it('auto-scales from the lowest to the highest point', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([82, 80, 71, 64, 45, 38])).toBe('██▇▅▂▁');
    expect(sparkline([10, 20], { scale: { min: 0, max: 40 } })).toBe('▃▅');
  });

  it('handles flat series, gaps and empty input', () => {
    expect(sparkline([5, 5, 5])).toBe('▄▄▄');
    expect(sparkline([50, 50], { scale: 'health' })).toBe('▅▅');
    expect(sparkline([])).toBe('');
    expect(sparkline([null, 3, Number.NaN, 6])).toBe(' ▁ █');
  });

  it('keeps the most recent points when capped', () => {
    expect(sparkline([1, 2, 3, 4, 5], { maxWidth: 3 })).toBe('▁▅█');
    expect(sparkline([1, 2, 3], { maxWidth: 0 })).toBe('');
    expect(sparkline([1, 2, 3], { maxWidth: 10 })).toBe('▁▅█');
  });

  it('property: one bar per point, capped at maxWidth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { maxLength: 200 }),
        fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
        fc.constantFrom('auto' as const, 'health' as const),
        (values, maxWidth, scale) => {
          const line = sparkline(values, { maxWidth, scale });
          const chars = [...line];
          expect(chars).toHaveLength(Math.min(values.length, maxWidth ?? Number.POSITIVE_INFINITY));
          for (const c of chars) expect(SPARK_BARS).toContain(c);
        },
      ),
    );
  });
});
