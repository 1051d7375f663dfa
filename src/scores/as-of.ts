import { UsageError } from '../cli/args.js';

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * An as-of given as a calendar date means "everything known by the end of
 * that day (UTC)": signals stamped any time on DATE count, the next day's do
 * not. A full timestamp is taken as is.
 */
export function parseAsOf(value: string): Date {
  const m = DATE_ONLY.exec(value.trim());
  if (m) {
    const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59, 999));
    if (d.toISOString().slice(0, 10) !== value.trim()) throw new UsageError(`"${value}" is not a calendar date (YYYY-MM-DD)`);
    return d;
  }
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new UsageError(`"${value}" is not a date; use YYYY-MM-DD or an ISO 8601 timestamp`);
  return new Date(t);
}
