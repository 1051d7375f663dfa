import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digamma, hyp2f1, lnBeta, lnGamma, logAddExp, logSumExp, minimizeBfgs, minimizeNelderMead, withNumericGradient } from '../../../src/scoring/special.js';

describe('lnGamma', () => {
  it('matches known values to ~1e-14', () => {
    const cases: [number, number][] = [
      [0.5, 0.5723649429247001], // ln √π
      [1, 0],
      [2, 0],
      [3, Math.log(2)],
      [10, 12.801827480081469], // ln 9!
      [1 / 3, 0.9854206469277671], // ln Γ(1/3)
      [100, 359.1342053695754],
      [1e-3, 6.907178885383854],
      [171.5, 709.1431630309282],
    ];
    for (const [x, expected] of cases) {
      expect(Math.abs(lnGamma(x) - expected)).toBeLessThan(1e-13 * Math.max(1, Math.abs(expected)));
    }
  });

  it('satisfies Γ(x+1) = xΓ(x) and the reflection formula', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 500, noNaN: true }), (x) => {
        expect(lnGamma(x + 1) - lnGamma(x)).toBeCloseTo(Math.log(x), 10);
      }),
    );
    expect(lnGamma(-0.5)).toBeCloseTo(Math.log(2 * Math.sqrt(Math.PI)), 13);
    expect(lnGamma(0)).toBe(Number.POSITIVE_INFINITY);
    expect(lnGamma(-3)).toBe(Number.POSITIVE_INFINITY);
  });

  it('lnBeta(a, b) = ln(Γ(a)Γ(b)/Γ(a+b))', () => {
    expect(lnBeta(2, 3)).toBeCloseTo(Math.log(1 / 12), 14);
    expect(lnBeta(0.5, 0.5)).toBeCloseTo(Math.log(Math.PI), 14);
  });
});

describe('digamma', () => {
  it('matches known values and the derivative of lnGamma', () => {
    expect(digamma(1)).toBeCloseTo(-0.5772156649015329, 14);
    expect(digamma(0.5)).toBeCloseTo(-1.9635100260214235, 14);
    expect(digamma(10)).toBeCloseTo(2.251752589066721, 14);
    expect(digamma(-0.5)).toBeCloseTo(0.03648997397857652, 12);
    for (const x of [0.1, 0.7, 3.3, 25]) {
      const h = 1e-5;
      expect(digamma(x)).toBeCloseTo((lnGamma(x + h) - lnGamma(x - h)) / (2 * h), 6);
    }
  });
});

describe('hyp2f1', () => {
  it('matches closed forms', () => {
    for (const z of [-3, -0.5, 0, 0.3, 0.9, 0.99]) {
      const expected = z === 0 ? 1 : -Math.log(1 - z) / z; // ₂F₁(1, 1; 2; z)
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(expected, 12);
      expect(hyp2f1(0.7, 2.5, 2.5, z)).toBeCloseTo((1 - z) ** -0.7, 12); // ₂F₁(a, b; b; z)
    }
    // Polynomial case: ₂F₁(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1)).
    expect(hyp2f1(-2, 3, 4, 0.5)).toBeCloseTo(1 - (2 * 3 * 0.5) / 4 + (3 * 4 * 0.25) / (4 * 5), 14);
  });

  it('is NaN outside its domain', () => {
    expect(hyp2f1(1, 1, 2, 1)).toBeNaN();
    expect(hyp2f1(1, 1, -2, 0.5)).toBeNaN();
  });
});

describe('logSumExp', () => {
  it('does not overflow or underflow', () => {
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 12);
    expect(logSumExp([-1000, -1000])).toBeCloseTo(-1000 + Math.log(2), 12);
    expect(logSumExp([])).toBe(Number.NEGATIVE_INFINITY);
    expect(logAddExp(Number.NEGATIVE_INFINITY, 3)).toBe(3);
    expect(logAddExp(0, 0)).toBeCloseTo(Math.log(2), 15);
  });
});

describe('optimizers', () => {
  const rosenbrock = (x: Float64Array): number => 100 * (x[1]! - x[0]! ** 2) ** 2 + (1 - x[0]!) ** 2;

  it('BFGS finds the Rosenbrock minimum with a numeric gradient', () => {
    const result = minimizeBfgs(withNumericGradient(rosenbrock), [-1.2, 1], { gradientTolerance: 1e-8 });
    expect(result.x[0]).toBeCloseTo(1, 5);
    expect(result.x[1]).toBeCloseTo(1, 5);
    expect(result.converged).toBe(true);
  });

  it('Nelder–Mead with restarts finds the Rosenbrock minimum', () => {
    const result = minimizeNelderMead(rosenbrock, [-1.2, 1], { tolerance: 1e-16 });
    expect(result.x[0]).toBeCloseTo(1, 4);
    expect(result.x[1]).toBeCloseTo(1, 4);
  });

  it('BFGS backs off from steps into non-finite values', () => {
    // log-barrier: undefined for x ≤ 0, minimum at x = 1.
    const f = (x: Float64Array): number => (x[0]! > 0 ? x[0]! - Math.log(x[0]!) : Number.NaN);
    const result = minimizeBfgs(withNumericGradient(f), [20]);
    expect(result.x[0]).toBeCloseTo(1, 5);
  });
});
