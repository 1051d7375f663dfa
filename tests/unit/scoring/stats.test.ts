import { describe, expect, it } from 'vitest';
import { logit, normalQuantile, seededRandom, sigmoid, sortedQuantile } from '../../../src/scoring/stats.js';

describe('seededRandom', () => {
  it('repeats for a seed, differs between seeds, and is uniform on [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 100_000 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs.slice(0, 5));
    expect(c()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
    const deciles = new Array<number>(10).fill(0);
    for (const x of xs) deciles[Math.floor(x * 10)]!++;
    for (const d of deciles) expect(Math.abs(d - 10_000)).toBeLessThan(500);
  });
});

describe('normalQuantile', () => {
  it('matches tabulated quantiles', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.9)).toBeCloseTo(1.2815515655446004, 8);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 7);
    expect(normalQuantile(1 - 1e-10)).toBeCloseTo(6.361340902404056, 6);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});

describe('logit / sigmoid / sortedQuantile', () => {
  it('are inverse, finite at extremes, and take nearest ranks', () => {
    for (const p of [1e-12, 0.01, 0.5, 0.93]) expect(sigmoid(logit(p))).toBeCloseTo(p, 12);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0);
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(sortedQuantile(sorted, 0.1)).toBe(1);
    expect(sortedQuantile(sorted, 0.9)).toBe(9);
    expect(sortedQuantile(sorted, 0.95)).toBe(10);
    expect(sortedQuantile([], 0.5)).toBeNaN();
  });
});
