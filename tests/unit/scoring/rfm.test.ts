import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quintileScores, RFM_SEGMENTS, rfmSegment, scoreRfm, type Quintile, type RfmInput } from '../../../src/scoring/rfm.js';

describe('quintile scores', () => {
  it('splits distinct values into fifths, lowest = 1', () => {
    expect(quintileScores([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    expect(quintileScores([50, 10, 40, 20, 30])).toEqual([5, 1, 4, 2, 3]);
    expect(quintileScores([])).toEqual([]);
  });

  it('gives tied values the same score, by mid-rank', () => {
    expect(quintileScores([7, 7, 7, 7])).toEqual([3, 3, 3, 3]);
    // 0 appears 6 times out of 10: mid-rank 2.5 → score 2 for all six.
    expect(quintileScores([0, 0, 0, 0, 0, 0, 1, 2, 3, 4])).toEqual([2, 2, 2, 2, 2, 2, 4, 4, 5, 5]);
  });

  it('does not depend on input order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 60 }), (values) => {
        const scores = quintileScores(values);
        const byValue = new Map<number, Quintile>();
        values.forEach((v, i) => {
          const s = scores[i]!;
          expect(s).toBeGreaterThanOrEqual(1);
          expect(s).toBeLessThanOrEqual(5);
          if (byValue.has(v)) expect(byValue.get(v)).toBe(s);
          byValue.set(v, s);
        });
        const reversed = quintileScores([...values].reverse()).reverse();
        expect(reversed).toEqual(scores);
        // Monotone: a larger value never scores lower.
        for (let i = 0; i < values.length; i++)
          for (let j = 0; j < values.length; j++) if (values[i]! < values[j]!) expect(scores[i]!).toBeLessThanOrEqual(scores[j]!);
      }),
    );
  });
});

describe('RFM segments', () => {
  it('maps every R × FM cell to one of the eleven named segments, all of them used', () => {
    const used = new Set<string>();
    for (const r of [1, 2, 3, 4, 5] as const)
      for (const fm of [1, 2, 3, 4, 5] as const) {
        const seg = rfmSegment(r, fm);
        expect(RFM_SEGMENTS).toContain(seg);
        used.add(seg);
      }
    expect([...used].sort()).toEqual([...RFM_SEGMENTS].sort());
  });

  it('follows the common grid', () => {
    expect(rfmSegment(5, 5)).toBe('Champions');
    expect(rfmSegment(4, 4)).toBe('Loyal');
    expect(rfmSegment(3, 5)).toBe('Loyal');
    expect(rfmSegment(5, 2)).toBe('Potential loyalist');
    expect(rfmSegment(5, 1)).toBe('New');
    expect(rfmSegment(4, 1)).toBe('Promising');
    expect(rfmSegment(3, 3)).toBe('Needs attention');
    expect(rfmSegment(3, 1)).toBe('About to sleep');
    expect(rfmSegment(2, 4)).toBe('At risk');
    expect(rfmSegment(1, 5)).toBe("Can't lose them");
    expect(rfmSegment(2, 1)).toBe('Hibernating');
    expect(rfmSegment(1, 1)).toBe('Lost');
  });

  it('scores a base: recent, frequent, big spenders are Champions; long-gone small ones are Lost', () => {
    const base: RfmInput[] = [
      { id: 'acme', recencyDays: 2, frequency: 40, monetary: 90_000 },
      { id: 'globex', recencyDays: 10, frequency: 25, monetary: 40_000 },
      { id: 'initech', recencyDays: 30, frequency: 12, monetary: 12_000 },
      { id: 'umbrella', recencyDays: 200, frequency: 30, monetary: 70_000 },
      { id: 'hooli', recencyDays: 400, frequency: 1, monetary: 300 },
    ];
    const scored = scoreRfm(base);
    expect(scored.map((s) => [s.id, s.cell, s.segment])).toEqual([
      ['acme', '555', 'Champions'],
      ['globex', '433', 'Potential loyalist'],
      ['initech', '322', 'About to sleep'],
      ['umbrella', '244', 'At risk'],
      ['hooli', '111', 'Lost'],
    ]);
  });

  it('rounds FM = (F + M) / 2 half up', () => {
    const base: RfmInput<number>[] = [1, 2, 3, 4, 5].map((i) => ({ id: i, recencyDays: i, frequency: i, monetary: 6 - i }));
    for (const s of scoreRfm(base)) expect(s.fm).toBe(Math.floor((s.f + s.m + 1) / 2));
  });
});
