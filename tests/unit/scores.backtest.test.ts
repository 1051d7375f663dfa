import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auc, precisionRecall } from '../../src/scoring/backtest.js';

/** AUC by brute force over every (churner, survivor) pair. */
function pairwiseAuc(items: { risk: number; churned: boolean }[]): number | null {
  const pos = items.filter((i) => i.churned);
  const neg = items.filter((i) => !i.churned);
  if (!pos.length || !neg.length) return null;
  let s = 0;
  for (const p of pos) for (const n of neg) s += p.risk > n.risk ? 1 : p.risk === n.risk ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

describe('auc (Mann–Whitney)', () => {
  it('is 1 when every churner is riskier than every survivor, 0 when the ranking is reversed', () => {
    const perfect = [
      { risk: 90, churned: true },
      { risk: 80, churned: true },
      { risk: 20, churned: false },
      { risk: 10, churned: false },
    ];
    expect(auc(perfect)).toBe(1);
    expect(auc(perfect.map((i) => ({ ...i, risk: -i.risk })))).toBe(0);
  });

  it('counts ties as one half', () => {
    expect(
      auc([
        { risk: 50, churned: true },
        { risk: 50, churned: false },
      ]),
    ).toBe(0.5);
    expect(
      auc([
        { risk: 60, churned: true },
        { risk: 50, churned: true },
        { risk: 50, churned: false },
        { risk: 40, churned: false },
      ]),
    ).toBe((1 + 1 + 0.5 + 1) / 4);
  });

  it('is undefined without churners or without survivors', () => {
    expect(auc([])).toBeNull();
    expect(auc([{ risk: 1, churned: true }])).toBeNull();
    expect(
      auc([
        { risk: 1, churned: false },
        { risk: 2, churned: false },
      ]),
    ).toBeNull();
  });

  it('leaves out non-finite risks', () => {
    expect(
      auc([
        { risk: Number.NaN, churned: true },
        { risk: 2, churned: true },
        { risk: 1, churned: false },
      ]),
    ).toBe(1);
  });

  it('equals the pairwise definition for any input', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ risk: fc.integer({ min: 0, max: 20 }), churned: fc.boolean() }), { maxLength: 60 }), (items) => {
        const a = auc(items);
        const b = pairwiseAuc(items);
        if (b === null) expect(a).toBeNull();
        else expect(a).toBeCloseTo(b, 12);
      }),
    );
  });
});

describe('precisionRecall', () => {
  it('counts the confusion matrix', () => {
    const r = precisionRecall([
      { flagged: true, churned: true },
      { flagged: true, churned: false },
      { flagged: true, churned: false },
      { flagged: false, churned: true },
      { flagged: false, churned: false },
    ]);
    expect(r).toEqual({ truePositives: 1, falsePositives: 2, falseNegatives: 1, trueNegatives: 1, precision: 1 / 3, recall: 1 / 2, baseRate: 2 / 5 });
  });

  it('says n/a (null) rather than dividing by zero', () => {
    expect(precisionRecall([{ flagged: false, churned: false }])).toMatchObject({ precision: null, recall: null, baseRate: 0 });
    expect(precisionRecall([])).toMatchObject({ precision: null, recall: null, baseRate: null });
  });
});

describe('thresholdSweep', () => {
  it('gives precision and recall of "warn below t" for each t', async () => {
    const { thresholdSweep } = await import('../../src/scoring/backtest.js');
    const items = [
      { health: 20, churned: true },
      { health: 45, churned: true },
      { health: 50, churned: false },
      { health: 80, churned: false },
      { health: 90, churned: true },
    ];
    const rows = thresholdSweep(items, [30, 60, 100]);
    expect(rows.map((r) => [r.below, r.truePositives, r.falsePositives, r.precision, r.recall])).toEqual([
      [30, 1, 0, 1, 1 / 3],
      [60, 2, 1, 2 / 3, 2 / 3],
      [100, 3, 2, 3 / 5, 1],
    ]);
  });
});
