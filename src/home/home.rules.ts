import type { BookAccount } from '../customers/book.repository.js';

/**
 * Pure selection of what a member's App Home shows: at-risk accounts,
 * renewals coming up, overdue follow-ups. `now` is passed in.
 */

/** An account of the member's book as the home needs it: when it was last touched, not how. */
export type HomeAccount = Omit<BookAccount, 'lastTouch'> & { lastTouchAt: Date | null };

export interface Cadence {
  A: number;
  B: number;
  C: number;
}

export interface HomeSections {
  atRisk: HomeAccount[];
  renewals: (HomeAccount & { daysToRenewal: number })[];
  overdue: (HomeAccount & { daysSinceTouch: number | null; cadenceDays: number })[];
  total: number;
}

const DAY_MS = 86_400_000;
export const HOME_SECTION_CAP = 15;
export const RENEWAL_WINDOW_DAYS = 30;

function utcDay(d: Date): number {
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

export function daysToDate(date: string, now: Date): number {
  return Math.round((Date.parse(`${date.slice(0, 10)}T00:00:00Z`) - utcDay(now)) / DAY_MS);
}

/**
 * Follow-up cadence by value tier (A 30, B 90, C 180 days by default); an
 * unscored account is held to the loosest cadence. Never touched = overdue.
 */
export function followUpOverdue(
  a: Pick<HomeAccount, 'tier' | 'lastTouchAt'>,
  now: Date,
  cadence: Cadence,
): { overdue: boolean; daysSinceTouch: number | null; cadenceDays: number } {
  const cadenceDays = cadence[a.tier ?? 'C'];
  if (!a.lastTouchAt) return { overdue: true, daysSinceTouch: null, cadenceDays };
  const daysSinceTouch = Math.floor((now.getTime() - a.lastTouchAt.getTime()) / DAY_MS);
  return { overdue: daysSinceTouch > cadenceDays, daysSinceTouch, cadenceDays };
}

const TIER_RANK = { A: 0, B: 1, C: 2 } as const;

/** Full, sorted lists: the view shows the first few of each and says how many more. */
export function selectHomeSections(accounts: readonly HomeAccount[], now: Date, cadence: Cadence): HomeSections {
  const atRisk = accounts
    .filter((a) => a.band === 'red' || a.band === 'yellow')
    .sort((a, b) => (a.health ?? 101) - (b.health ?? 101) || a.name.localeCompare(b.name));
  const renewals = accounts
    .filter((a) => a.renewalDate !== null)
    .map((a) => ({ ...a, daysToRenewal: daysToDate(a.renewalDate!, now) }))
    .filter((a) => a.daysToRenewal >= 0 && a.daysToRenewal <= RENEWAL_WINDOW_DAYS)
    .sort((a, b) => a.daysToRenewal - b.daysToRenewal || a.name.localeCompare(b.name));
  const overdue = accounts
    .map((a) => ({ ...a, ...followUpOverdue(a, now, cadence) }))
    .filter((a) => a.overdue)
    .sort(
      (a, b) =>
        TIER_RANK[a.tier ?? 'C'] - TIER_RANK[b.tier ?? 'C'] ||
        (b.daysSinceTouch ?? Number.MAX_SAFE_INTEGER) - b.cadenceDays - ((a.daysSinceTouch ?? Number.MAX_SAFE_INTEGER) - a.cadenceDays) ||
        a.name.localeCompare(b.name),
    )
    .map(({ overdue: _o, ...rest }) => rest);
  return { atRisk, renewals, overdue, total: accounts.length };
}
