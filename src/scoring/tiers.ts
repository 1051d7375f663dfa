/**
 * ABC value tiers (Pareto): sort accounts by value, largest first.
 * A = the accounts that together make the top 80% of total value (the account
 * whose value crosses 80% is A), B = the next 15% (up to 95%, the crossing
 * account is B), C = the rest. Accounts with no, zero or negative value are C.
 * Equal values are ordered by id so the result does not depend on input order.
 */
import { ScoringError } from './errors.js';

export type ValueTier = 'A' | 'B' | 'C';

export const VALUE_TIERS = ['A', 'B', 'C'] as const satisfies readonly ValueTier[];

export interface TierThresholds {
  /** Cumulative share of value covered by tier A. Default 0.8. */
  readonly a: number;
  /** Cumulative share covered by tiers A + B. Default 0.95. */
  readonly b: number;
}

export const DEFAULT_TIER_THRESHOLDS: TierThresholds = Object.freeze({ a: 0.8, b: 0.95 });

export interface TierInput<Id extends string | number = string> {
  readonly id: Id;
  /** ARR, or spend where there is no ARR; null when unknown. */
  readonly value: number | null | undefined;
}

/** Tier per account id. */
export function abcTiers<Id extends string | number>(
  accounts: readonly TierInput<Id>[],
  thresholds: TierThresholds = DEFAULT_TIER_THRESHOLDS,
): Map<Id, ValueTier> {
  const { a, b } = thresholds;
  if (!(a > 0 && a <= 1 && b >= a && b <= 1)) {
    throw new ScoringError('SCORING_INVALID_CONFIG', `tier thresholds must satisfy 0 < a ≤ b ≤ 1 (a = ${a}, b = ${b})`);
  }
  const result = new Map<Id, ValueTier>();
  const valued: { id: Id; value: number }[] = [];
  for (const acc of accounts) {
    const v = acc.value;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) valued.push({ id: acc.id, value: v });
    else result.set(acc.id, 'C');
  }
  valued.sort((p, q) => q.value - p.value || compareIds(p.id, q.id));
  const total = valued.reduce((s, v) => s + v.value, 0);
  // Relative slack so 0.8 × total computed in floating point does not flip a boundary account.
  const slack = total * 1e-12;
  let before = 0;
  for (const { id, value } of valued) {
    const tier: ValueTier = before < a * total - slack ? 'A' : before < b * total - slack ? 'B' : 'C';
    result.set(id, tier);
    before += value;
  }
  return result;
}

function compareIds(p: string | number, q: string | number): number {
  if (typeof p === 'number' && typeof q === 'number') return p - q;
  const ps = String(p);
  const qs = String(q);
  return ps < qs ? -1 : ps > qs ? 1 : 0;
}
