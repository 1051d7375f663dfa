import { fixedClock } from '../../src/platform/clock.js';

const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const utcMidnight = (date: string) => Date.parse(`${date}T00:00:00Z`);

const shortFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' });
const weekdayFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });

/** 'Nov 24, 2026' for '2026-11-24': how cards and messages print a date. */
export const formatShort = (date: string) => shortFormat.format(new Date(`${date}T00:00:00Z`));

export type TestCalendar = ReturnType<typeof testCalendar>;

/**
 * The calendar of an end-to-end test that runs the app on a fixed clock.
 *
 * Some writes are stamped by real time, not by the app's clock: a CSV import
 * and column defaults take the database's now(), the outbox stamps a delivery
 * with the wall clock. So the app's now is the first moment at the chosen
 * time of day (a digest's local hour, a scan's) that lies at least `aheadBy`
 * (10 minutes) after the real now: within a day of it, on whatever date the
 * suite runs.
 * - What the test sets up (imports) happens before the app's now, as in
 *   production, so "newest first" and "changed since" keep their meaning.
 * - A real-time write made while the test runs falls within the day before
 *   the app's now, given `aheadBy: 0` (the digest's failed deliveries "in the
 *   last 24 hours").
 *
 * `fits` moves today forward a day at a time until it holds, for a test whose
 * story needs a calendar property (two renewal dates in one quarter).
 *
 * Fixture dates (renewal dates) and the dates a test expects to read
 * ("Nov 24, 2026", "2026-Q4") derive from it: day offsets, never literals.
 */
export function testCalendar(timeOfDay = '10:00:00Z', opts: { aheadBy?: number; fits?: (cal: Pick<TestCalendar, 'date' | 'quarter'>) => boolean } = {}) {
  const earliest = Date.now() + (opts.aheadBy ?? 10 * 60_000);
  let todayMs = utcMidnight(iso(earliest));
  if (Date.parse(`${iso(todayMs)}T${timeOfDay}`) < earliest) todayMs += DAY_MS;
  const date = (n = 0) => iso(todayMs + n * DAY_MS);
  const quarter = (n = 0) => {
    const d = date(n);
    return `${d.slice(0, 4)}-Q${Math.floor((Number(d.slice(5, 7)) - 1) / 3) + 1}`;
  };
  for (let tries = 0; opts.fits && !opts.fits({ date, quarter }); tries++) {
    if (tries > 400) throw new Error('testCalendar: no day within a year fits');
    todayMs += DAY_MS;
  }
  const at = (n = 0, time = timeOfDay) => new Date(`${date(n)}T${time}`);
  const today = date(0);
  return {
    /** The app's clock: starts at today, at the chosen time of day. */
    clock: fixedClock(at(0)),
    /** 'YYYY-MM-DD' of the app's today. */
    today,
    /** 'YYYY-MM-DD', n days from today (negative: before). */
    date,
    /** The instant n days from today at the chosen (or given) time of day. */
    at,
    /** 'Nov 24, 2026': how cards and messages print the date n days from today. */
    short: (n = 0) => formatShort(date(n)),
    /** 'Tue, Nov 24, 2026'. */
    withWeekday: (n = 0) => weekdayFormat.format(at(n)),
    /** '2026-Q4': the quarter of the date n days from today. */
    quarter,
    /** 'YYYY-MM-DD' of the first day of today's quarter. */
    quarterStart: () => `${today.slice(0, 4)}-${String(Math.floor((Number(today.slice(5, 7)) - 1) / 3) * 3 + 1).padStart(2, '0')}-01`,
  };
}
