import type { ChurnReason } from '../alerts/alert.table.js';
import { quarterOf } from '../alerts/localtime.js';

/**
 * Renewal windows and renewal rates (renewed ÷ decided). Pure: dates are
 * 'YYYY-MM-DD' strings, today is passed in.
 */

/**
 * The reminder due when `daysLeft` days remain: the most recent reminder day
 * that has arrived (the smallest configured day ≥ daysLeft). A scan missed
 * for a day still finds the reminder it missed — and only that one, never the
 * older ones; a reminder already sent is not sent again because its
 * de-duplication key (customer + renewal date + reminder day) is taken.
 * Null before the first reminder day, or once the date has passed.
 */
export function dueReminderDay(daysLeft: number, reminderDays: readonly number[]): number | null {
  if (daysLeft < 0) return null;
  let due: number | null = null;
  for (const d of reminderDays) if (d >= daysLeft && (due === null || d < due)) due = d;
  return due;
}

export const CHURN_REASON_LABELS: Record<ChurnReason, string> = {
  price: 'Price',
  product_gap: 'Product gap',
  competitor: 'Competitor',
  budget: 'Budget',
  champion_left: 'Champion left',
  other: 'Other',
};

export function renewalHeadline(daysLeft: number): string {
  if (daysLeft <= 0) return 'Renewal today';
  if (daysLeft === 1) return 'Renewal tomorrow';
  return `Renewal in ${daysLeft} days`;
}

export interface DecidedRenewal {
  renewalDate: string;
  outcome: 'renewed' | 'churned';
  team: string | null;
  owner: string | null;
  tier: string | null;
  churnReason?: ChurnReason | null;
}

export type RateDimension = 'team' | 'owner' | 'tier' | 'all';

export interface RenewalRate {
  quarter: string;
  dimension: RateDimension;
  key: string;
  renewed: number;
  churned: number;
  decided: number;
  /** renewed ÷ decided (续约率). */
  rate: number;
}

/**
 * Renewal rate = renewed ÷ renewals decided, per quarter of the renewal date,
 * grouped by team, owner and tier (snapshots taken when decided) and overall.
 * Sorted by quarter, dimension, key.
 */
export function renewalRates(rows: readonly DecidedRenewal[], dimensions: readonly RateDimension[] = ['all', 'team', 'owner', 'tier']): RenewalRate[] {
  const groups = new Map<string, RenewalRate>();
  for (const r of rows) {
    const quarter = quarterOf(r.renewalDate);
    for (const dimension of dimensions) {
      const key = dimension === 'all' ? 'all' : (r[dimension] ?? 'none');
      const id = `${quarter}\u0000${dimension}\u0000${key}`;
      let g = groups.get(id);
      if (!g) {
        g = { quarter, dimension, key, renewed: 0, churned: 0, decided: 0, rate: 0 };
        groups.set(id, g);
      }
      g.decided++;
      if (r.outcome === 'renewed') g.renewed++;
      else g.churned++;
    }
  }
  const order: Record<RateDimension, number> = { all: 0, team: 1, owner: 2, tier: 3 };
  return [...groups.values()]
    .map((g) => ({ ...g, rate: g.renewed / g.decided }))
    .sort((a, b) => a.quarter.localeCompare(b.quarter) || order[a.dimension] - order[b.dimension] || a.key.localeCompare(b.key));
}

/** Churn reasons counted, most frequent first (digest and stats). */
export function churnReasonCounts(rows: readonly DecidedRenewal[]): { reason: ChurnReason | 'unknown'; count: number }[] {
  const counts = new Map<ChurnReason | 'unknown', number>();
  for (const r of rows) if (r.outcome === 'churned') counts.set(r.churnReason ?? 'unknown', (counts.get(r.churnReason ?? 'unknown') ?? 0) + 1);
  return [...counts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export function formatRate(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}
