import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { abcTiers, type TierInput } from '../../../src/scoring/tiers.js';

const tiersOf = (accounts: TierInput[], thresholds?: { a: number; b: number }): Record<string, string> => Object.fromEntries(abcTiers(accounts, thresholds));

describe('ABC value tiers', () => {
  it('A = top 80% of value, B = next 15%, C = the rest', () => {
    const accounts = [
      { id: 'a', value: 50 },
      { id: 'b', value: 30 },
      { id: 'c', value: 10 },
      { id: 'd', value: 5 },
      { id: 'e', value: 3 },
      { id: 'f', value: 2 },
    ];
    expect(tiersOf(accounts)).toEqual({ a: 'A', b: 'A', c: 'B', d: 'B', e: 'C', f: 'C' });
  });

  it('puts the account that crosses 80% in A (and the one crossing 95% in B)', () => {
    const accounts = [
      { id: 'w', value: 50 },
      { id: 'x', value: 20 },
      { id: 'y', value: 20 }, // 70% → 90%: crosses 80%
      { id: 'z', value: 6 }, // 90% → 96%: crosses 95%
      { id: 'v', value: 4 },
    ];
    expect(tiersOf(accounts)).toEqual({ w: 'A', x: 'A', y: 'A', z: 'B', v: 'C' });
  });

  it('sends zero, negative and unknown values to C', () => {
    const accounts: TierInput[] = [
      { id: 'big', value: 100 },
      { id: 'zero', value: 0 },
      { id: 'unknown', value: null },
      { id: 'undef', value: undefined },
      { id: 'nan', value: Number.NaN },
      { id: 'neg', value: -5 },
    ];
    expect(tiersOf(accounts)).toEqual({ big: 'A', zero: 'C', unknown: 'C', undef: 'C', nan: 'C', neg: 'C' });
    expect(tiersOf([{ id: 'only', value: 0 }])).toEqual({ only: 'C' });
  });

  it('uses configurable thresholds', () => {
    const accounts = [40, 30, 20, 10].map((value, i) => ({ id: `c${i}`, value }));
    expect(tiersOf(accounts, { a: 0.5, b: 0.9 })).toEqual({ c0: 'A', c1: 'A', c2: 'B', c3: 'C' });
    expect(() => abcTiers(accounts, { a: 0.9, b: 0.5 })).toThrowError(/thresholds/);
  });

  it('breaks ties by id, so input order does not matter (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: fc.string({ maxLength: 4 }), value: fc.integer({ min: 0, max: 5 }) }), {
          selector: (r) => r.id,
          maxLength: 30,
        }),
        (accounts) => {
          const forward = tiersOf(accounts);
          const backward = tiersOf([...accounts].reverse());
          expect(backward).toEqual(forward);
          const total = accounts.reduce((s, a) => s + a.value, 0);
          const aValue = accounts.filter((a) => forward[a.id] === 'A').reduce((s, a) => s + a.value, 0);
          if (total > 0) expect(aValue).toBeGreaterThanOrEqual(0.8 * total - 1e-9);
        },
      ),
    );
  });
});
