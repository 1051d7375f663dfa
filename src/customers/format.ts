import { daysBetween } from '../platform/clock.js';

/**
 * Building an Intl formatter costs far more than using one (it loads locale
 * data), and every card formats money and dates: one formatter per shape,
 * kept for the life of the process (a few currencies, two notations).
 */
const moneyFormats = new Map<string, Intl.NumberFormat>();
function moneyFormat(code: string, compact: boolean): Intl.NumberFormat {
  const key = `${code}:${compact}`;
  let f = moneyFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency: code,
      notation: compact ? 'compact' : 'standard',
      // Both bounds: with only the maximum, Node 20 prints "$120.0K" and Node 24 "$120K".
      minimumFractionDigits: compact ? 1 : 0,
      maximumFractionDigits: compact ? 1 : 0,
    });
    moneyFormats.set(key, f);
  }
  return f;
}

/** Human formats used by cards, alerts and digests (pure). */
export function formatMoney(amount: number | null, currency: string | null): string {
  if (amount === null || !Number.isFinite(amount)) return 'unknown';
  const code = (currency ?? 'USD').toUpperCase();
  const compact = Math.abs(amount) >= 10_000;
  try {
    return moneyFormat(/^[A-Z]{3}$/.test(code) ? code : 'USD', compact).format(amount);
  } catch {
    return `${amount.toFixed(0)} ${code}`;
  }
}

/** "in 12 days", "today", "3 days ago". */
export function relativeDays(date: Date | string, now: Date): string {
  const d = typeof date === 'string' ? new Date(`${date.slice(0, 10)}T00:00:00Z`) : date;
  const n = daysBetween(now, d);
  if (n === 0) return 'today';
  if (n === 1) return 'tomorrow';
  if (n === -1) return 'yesterday';
  return n > 0 ? `in ${n} days` : `${-n} days ago`;
}

/** "3h ago", "2d ago", "just now" — for data age. */
export function age(from: Date, now: Date): string {
  const ms = now.getTime() - from.getTime();
  if (ms < 60_000) return 'just now';
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `${min}m ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.floor(h / 24)}d ago`;
}

export const BAND_EMOJI = { green: '🟢', yellow: '🟡', red: '🔴' } as const;

const SHORT_DATE = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });

export function shortDate(date: Date | string): string {
  const d = typeof date === 'string' ? new Date(`${date.slice(0, 10)}T00:00:00Z`) : date;
  // format() throws on an invalid date where toLocaleDateString said so.
  return Number.isNaN(d.getTime()) ? 'Invalid Date' : SHORT_DATE.format(d);
}

/** A chance as a rep reads it: whole percent, "<1%" and ">99%" rather than a false 0% or 100%. */
export function churnPercent(p: number): string {
  const v = Math.round(p * 100);
  return v < 1 ? '<1%' : v > 99 ? '>99%' : `${v}%`;
}
