import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScoringError } from '../../../src/scoring/errors.js';
import {
  completedContractYears,
  contractAnniversary,
  contractObservation,
  fitBdw,
  fitSbg,
  retentionChurnProbability,
  retentionDataFromCohort,
  retentionDataFromObservations,
  retentionDerl,
  retentionLogLikelihood,
  retentionProjection,
  retentionRate,
  retentionSurvival,
  type ContractObservation,
} from '../../../src/scoring/retention.js';

const SBG_DIR = path.resolve(process.cwd(), '../shared/data/sbg');

/** table1.csv: active at the start of years 0–12, per cohort. */
function loadTable1(): Record<'regular' | 'high_end', number[]> {
  const out: Record<string, number[]> = {};
  for (const line of readFileSync(path.join(SBG_DIR, 'table1.csv'), 'utf8').split(/\r?\n/).slice(1)) {
    if (!line.trim()) continue;
    const [cohort, year, active] = line.split(',');
    out[cohort!] ??= [];
    out[cohort!]![Number(year)] = Number(active);
  }
  return out as Record<'regular' | 'high_end', number[]>;
}

const table = loadTable1();
const calibration = (cohort: 'regular' | 'high_end'): number[] => table[cohort].slice(0, 8);

const PUBLISHED = {
  high_end: { alpha: 0.668, beta: 3.806, ll: -1611.158, S: [0.46, 0.436, 0.414, 0.395, 0.378], r: [0.942, 0.946, 0.95, 0.954, 0.957] },
  regular: { alpha: 0.704, beta: 1.182, ll: -1680.265, S: [0.22, 0.204, 0.191, 0.18, 0.17], r: [0.921, 0.929, 0.935, 0.941, 0.945] },
} as const;

const relErr = (a: number, b: number): number => Math.abs(a / b - 1);

/**
 * The cohort as individual customers with dates: everybody starts on
 * 2010-01-01; those lost in year t churn on 1 July of that contract year;
 * the data are read at the end of year 7 (the 7th anniversary).
 */
function individualsFromCohort(activeAtStart: readonly number[]): { startedAt: string; churnedAt: string | null }[] {
  const out: { startedAt: string; churnedAt: string | null }[] = [];
  for (let t = 1; t < activeAtStart.length; t++) {
    const lost = activeAtStart[t - 1]! - activeAtStart[t]!;
    for (let i = 0; i < lost; i++) out.push({ startedAt: '2010-01-01', churnedAt: `${2010 + t - 1}-07-01` });
  }
  for (let i = 0; i < activeAtStart[activeAtStart.length - 1]!; i++) out.push({ startedAt: '2010-01-01', churnedAt: null });
  return out;
}

describe('sBG on Fader & Hardie (2007) Table 1, years 0–7', () => {
  for (const cohort of ['high_end', 'regular'] as const) {
    describe(cohort.replace('_', ' '), () => {
      const fit = fitSbg(retentionDataFromCohort(calibration(cohort)));
      const ref = PUBLISHED[cohort];

      it('fits α and β within 0.2% and the log-likelihood within 0.01', () => {
        expect(fit.converged).toBe(true);
        expect(fit.customers).toBe(1000);
        expect(fit.c).toBe(1);
        expect(relErr(fit.alpha, ref.alpha)).toBeLessThan(0.002);
        expect(relErr(fit.beta, ref.beta)).toBeLessThan(0.002);
        expect(Math.abs(fit.logLikelihood - ref.ll)).toBeLessThan(0.01);
      });

      it('projects S(8..12) and r(8..12) as printed (3 decimals)', () => {
        const rows = retentionProjection(fit, 8, 12);
        expect(rows.map((r) => r.period)).toEqual([8, 9, 10, 11, 12]);
        rows.forEach((row, i) => {
          expect(Math.abs(row.survival - ref.S[i]!)).toBeLessThanOrEqual(0.0005);
          expect(Math.abs(row.retentionRate - ref.r[i]!)).toBeLessThanOrEqual(0.0005);
        });
      });

      it('gives the same fit when the cohort comes as individual customers with dates', () => {
        const asOf = '2017-01-01';
        const observations = individualsFromCohort(calibration(cohort)).map((c) => contractObservation(c.startedAt, c.churnedAt, asOf)!);
        expect(observations).toHaveLength(1000);
        const individual = fitSbg(observations);
        expect(individual.logLikelihood).toBeCloseTo(fit.logLikelihood, 6);
        expect(relErr(individual.alpha, ref.alpha)).toBeLessThan(0.002);
        expect(relErr(individual.beta, ref.beta)).toBeLessThan(0.002);
        expect(Math.abs(individual.logLikelihood - ref.ll)).toBeLessThan(0.01);
        const rows = retentionProjection(individual, 8, 12);
        rows.forEach((row, i) => {
          expect(Math.abs(row.survival - ref.S[i]!)).toBeLessThanOrEqual(0.0005);
          expect(Math.abs(row.retentionRate - ref.r[i]!)).toBeLessThanOrEqual(0.0005);
        });
      });

      it('BdW with c fixed at 1 is the sBG fit; with c free its likelihood is at least as high', () => {
        const fixed = fitBdw(retentionDataFromCohort(calibration(cohort)), { fixedC: 1 });
        expect(fixed.logLikelihood).toBeCloseTo(fit.logLikelihood, 8);
        expect(relErr(fixed.alpha, fit.alpha)).toBeLessThan(1e-5);
        const free = fitBdw(retentionDataFromCohort(calibration(cohort)));
        expect(free.logLikelihood).toBeGreaterThanOrEqual(fit.logLikelihood - 1e-9);
        expect(free.c).toBeGreaterThan(0);
      });
    });
  }

  it('DERL at the high-end fit, d = 0.10, n = 7 is 7.530', () => {
    const fit = fitSbg(retentionDataFromCohort(calibration('high_end')));
    expect(retentionDerl(fit, 0.1, 7)).toBeCloseTo(7.53, 3);
    // The published, rounded parameters give the same to 3 decimals.
    expect(retentionDerl({ alpha: 0.668, beta: 3.806 }, 0.1, 7)).toBeCloseTo(7.53, 2);
  });
});

describe('sBG and BdW functions', () => {
  const p = { alpha: 0.668, beta: 3.806 };

  it('P(T = t) and S(t) agree: S(t−1) − S(t) = P(T = t), and the P’s sum to 1 − S(n)', () => {
    let sum = 0;
    for (let t = 1; t <= 40; t++) {
      const pt = retentionChurnProbability(p, t);
      expect(Math.abs(pt / (retentionSurvival(p, t - 1) - retentionSurvival(p, t)) - 1)).toBeLessThan(1e-11);
      sum += pt;
    }
    expect(sum).toBeCloseTo(1 - retentionSurvival(p, 40), 12);
    expect(retentionSurvival(p, 0)).toBe(1);
    expect(retentionChurnProbability(p, 1)).toBeCloseTo(0.668 / (0.668 + 3.806), 14);
  });

  it('r(t) is (β + t − 1)/(α + β + t − 1) and rises with tenure', () => {
    expect(retentionRate(p, 1)).toBeCloseTo(3.806 / 4.474, 14);
    expect(retentionRate(p, 8)).toBeCloseTo(retentionSurvival(p, 8) / retentionSurvival(p, 7), 12);
    expect(retentionRate(p, 20)).toBeGreaterThan(retentionRate(p, 10));
  });

  it('BdW at c = 1 equals the sBG, and c ≠ 1 keeps the identities', () => {
    for (const t of [1, 2, 5, 13]) {
      expect(retentionSurvival({ ...p, c: 1 }, t)).toBe(retentionSurvival(p, t));
    }
    const w = { ...p, c: 0.7 };
    for (const t of [1, 2, 5, 13, 200]) {
      const pt = retentionChurnProbability(w, t);
      expect(pt).toBeGreaterThan(0);
      expect(pt).toBeCloseTo(retentionSurvival(w, t - 1) - retentionSurvival(w, t), 13);
      expect(retentionRate(w, t)).toBeCloseTo(retentionSurvival(w, t) / retentionSurvival(w, t - 1), 12);
    }
  });

  it('DERL by direct summation agrees with the hypergeometric form, and BdW uses the summation', () => {
    const direct = (n: number, d: number): number => {
      let s = 0;
      for (let k = 0; k < 20_000; k++) s += (retentionSurvival(p, n + 1 + k) / retentionSurvival(p, n)) * (1 + d) ** -k;
      return s;
    };
    for (const [n, d] of [
      [0, 0.1],
      [7, 0.1],
      [3, 0.02],
      [20, 0.5],
    ] as const) {
      expect(retentionDerl(p, d, n)).toBeCloseTo(direct(n, d), 8);
      expect(retentionDerl({ ...p, c: 1 + 1e-9 }, d, n)).toBeCloseTo(retentionDerl(p, d, n), 6);
    }
    expect(() => retentionDerl(p, 0, 1)).toThrowError(/discount rate/);
  });

  it('stays finite for long tenures and extreme parameters', () => {
    expect(retentionSurvival({ alpha: 1e-3, beta: 1e4 }, 10_000)).toBeGreaterThan(0);
    expect(Number.isFinite(Math.log(retentionChurnProbability({ alpha: 50, beta: 0.01 }, 500)))).toBe(true);
    expect(retentionChurnProbability({ alpha: 2, beta: 3, c: 0.3 }, 5000)).toBeGreaterThan(0);
  });

  it('projects survival for customers who already completed n periods', () => {
    const rows = retentionProjection(p, 8, 9, 7);
    expect(rows[0]!.survival).toBeCloseTo(retentionRate(p, 8), 12);
    expect(rows[1]!.survival).toBeCloseTo(retentionRate(p, 8) * retentionRate(p, 9), 12);
    expect(() => retentionProjection(p, 7, 9, 7)).toThrowError(/after the 7 completed periods/);
  });

  it('log-likelihood of aggregated counts equals the sum over individuals', () => {
    const obs: ContractObservation[] = [
      { periods: 1, churned: true },
      { periods: 1, churned: true },
      { periods: 3, churned: true },
      { periods: 2, churned: false },
      { periods: 0, churned: false },
    ];
    const each = obs.reduce((s, o) => s + retentionLogLikelihood(p, [o]), 0);
    expect(retentionLogLikelihood(p, obs)).toBeCloseTo(each, 12);
    expect(retentionLogLikelihood(p, [{ periods: 1, churned: true, count: 2 }])).toBeCloseTo(2 * Math.log(retentionChurnProbability(p, 1)), 12);
    // A customer in her first period says nothing yet.
    expect(retentionLogLikelihood(p, [{ periods: 0, churned: false }])).toBe(0);
  });

  it('recovers parameters from customers with staggered starts (simulated)', () => {
    // Deterministic "simulation": expected counts of a large book, starts spread over 10 years.
    const truth = { alpha: 1.3, beta: 2.4 };
    const observations: ContractObservation[] = [];
    for (let age = 0; age <= 10; age++) {
      const cohort = 10_000;
      for (let t = 1; t <= age; t++) observations.push({ periods: t, churned: true, count: cohort * retentionChurnProbability(truth, t) });
      observations.push({ periods: age, churned: false, count: cohort * retentionSurvival(truth, age) });
    }
    const fit = fitSbg(observations);
    expect(relErr(fit.alpha, truth.alpha)).toBeLessThan(1e-4);
    expect(relErr(fit.beta, truth.beta)).toBeLessThan(1e-4);
    const bdw = fitBdw(observations);
    expect(bdw.c).toBeCloseTo(1, 3);
  });

  it('says why instead of giving numbers when nobody churned or nobody renewed', () => {
    const noChurn = fitSbg([{ periods: 5, churned: false, count: 100 }]);
    expect(noChurn.converged).toBe(false);
    expect(noChurn.problem).toBe('no churn among 100 customers: the churn rate cannot be estimated yet');
    const noRenewal = fitSbg([
      { periods: 1, churned: true, count: 40 },
      { periods: 0, churned: false, count: 5 },
    ]);
    expect(noRenewal.converged).toBe(false);
    expect(noRenewal.problem).toBe('none of 45 customers has renewed yet: retention cannot be estimated');
    expect(fitSbg(retentionDataFromCohort(calibration('regular'))).problem).toBeNull();
  });

  it('rejects impossible input with a stable code', () => {
    const bad: ContractObservation[][] = [
      [{ periods: 0, churned: true }],
      [{ periods: 1.5, churned: false }],
      [{ periods: -1, churned: false }],
      [{ periods: 1, churned: true, count: -2 }],
    ];
    for (const rows of bad) {
      try {
        retentionDataFromObservations(rows);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ScoringError);
        expect((e as ScoringError).code).toBe('SCORING_INVALID_OBSERVATION');
      }
    }
    expect(() => retentionDataFromCohort([100, 120])).toThrowError(/can only shrink/);
    expect(() => fitSbg([])).toThrowError(/at least one customer/);
    expect(() => retentionSurvival({ alpha: 0, beta: 1 }, 1)).toThrowError(/alpha/);
    expect(() => retentionChurnProbability(p, 0)).toThrowError(/period/);
  });
});

describe('contract periods from dates (yearly, by anniversary)', () => {
  it('counts anniversaries on or before a date', () => {
    expect(completedContractYears('2020-03-15', '2021-03-14')).toBe(0);
    expect(completedContractYears('2020-03-15', '2021-03-15')).toBe(1);
    expect(completedContractYears('2020-03-15', '2025-12-31')).toBe(5);
    expect(completedContractYears('2020-03-15', '2019-01-01')).toBe(0);
    expect(completedContractYears('2020-03-15T12:00:00Z', '2021-03-15T11:59:59Z')).toBe(0);
    expect(completedContractYears('2020-03-15T12:00:00Z', '2021-03-15T12:00:00Z')).toBe(1);
  });

  it('puts the anniversary of 29 February on 28 February in common years', () => {
    expect(contractAnniversary('2020-02-29', 1).toISOString()).toBe('2021-02-28T00:00:00.000Z');
    expect(contractAnniversary('2020-02-29', 4).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(completedContractYears('2020-02-29', '2021-02-27')).toBe(0);
    expect(completedContractYears('2020-02-29', '2021-02-28')).toBe(1);
    expect(completedContractYears('2020-02-29', '2024-02-28')).toBe(3);
    expect(completedContractYears('2020-02-29', '2024-02-29')).toBe(4);
    // A start on 28 February is not moved by leap years.
    expect(completedContractYears('2019-02-28', '2020-02-28')).toBe(1);
  });

  it('a churned customer churned in the contract year the churn date falls in', () => {
    expect(contractObservation('2020-01-01', '2020-07-01', '2030-01-01')).toEqual({ periods: 1, churned: true });
    expect(contractObservation('2020-01-01', '2022-07-01', '2030-01-01')).toEqual({ periods: 3, churned: true });
    // Exactly on an anniversary: the year that just ended, not renewed.
    expect(contractObservation('2020-01-01', '2021-01-01', '2030-01-01')).toEqual({ periods: 1, churned: true });
    expect(contractObservation('2020-01-01', '2021-01-02', '2030-01-01')).toEqual({ periods: 2, churned: true });
    // Cancelled on the start day: the first year.
    expect(contractObservation('2020-01-01', '2020-01-01', '2030-01-01')).toEqual({ periods: 1, churned: true });
    // Leap-day start, churn on 28 Feb 2021: exactly the first anniversary.
    expect(contractObservation('2020-02-29', '2021-02-28', '2030-01-01')).toEqual({ periods: 1, churned: true });
  });

  it('an active customer has completed ⌊(as-of − start) / 1 year⌋ periods; a churn after as-of is not yet known', () => {
    expect(contractObservation('2020-01-01', null, '2020-12-31')).toEqual({ periods: 0, churned: false });
    expect(contractObservation('2020-01-01', null, '2023-01-01')).toEqual({ periods: 3, churned: false });
    expect(contractObservation('2020-01-01', '2024-05-01', '2023-06-01')).toEqual({ periods: 3, churned: false });
    expect(contractObservation('2024-01-01', null, '2023-06-01')).toBeNull();
  });

  it('rejects a churn before the start, and dates that are not dates', () => {
    expect(() => contractObservation('2020-01-01', '2019-01-01', '2030-01-01')).toThrowError(/before started_at/);
    expect(() => contractObservation('soon', null, '2030-01-01')).toThrowError(/not a valid date/);
  });
});
