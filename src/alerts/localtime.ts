/**
 * Calendar arithmetic in a team's time zone (pure: `now` is passed in).
 * Dates are 'YYYY-MM-DD' strings: a renewal date or a digest day has no time
 * of day, and a JS Date at local midnight would shift it somewhere.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

/** The calendar date and hour at `now` in `tz`. */
export function localParts(now: Date, tz: string): { date: string; hour: number } {
  const parts = Object.fromEntries(
    formatter(tz)
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour) % 24 };
}

export function localDate(now: Date, tz: string): string {
  return localParts(now, tz).date;
}

const toUtc = (date: string) => Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));

/** Whole days from `from` to `to` (to − from), both 'YYYY-MM-DD'. */
export function daysFrom(from: string, to: string): number {
  return Math.round((toUtc(to) - toUtc(from)) / 86_400_000);
}

export function addDays(date: string, days: number): string {
  return new Date(toUtc(date) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Same day one year later; 29 February becomes 28 February. */
export function addYear(date: string): string {
  const y = Number(date.slice(0, 4)) + 1;
  const md = date.slice(5);
  if (md === '02-29') return `${y}-02-28`;
  return `${y}-${md}`;
}

/** '2026-Q4' for a 'YYYY-MM-DD' date. */
export function quarterOf(date: string): string {
  return `${date.slice(0, 4)}-Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`;
}

/** First and last day of the quarter containing `date`. */
export function quarterBounds(date: string): { start: string; end: string } {
  const y = Number(date.slice(0, 4));
  const q = Math.floor((Number(date.slice(5, 7)) - 1) / 3);
  const start = `${y}-${String(q * 3 + 1).padStart(2, '0')}-01`;
  const next = q === 3 ? `${y + 1}-01-01` : `${y}-${String(q * 3 + 4).padStart(2, '0')}-01`;
  return { start, end: addDays(next, -1) };
}
