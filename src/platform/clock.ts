/** Time is passed in, never read inside pure code; services get a Clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(at: Date | string): Clock & { set(d: Date | string): void; advanceDays(n: number): void } {
  let current = new Date(at);
  return {
    now: () => new Date(current),
    set(d) {
      current = new Date(d);
    },
    advanceDays(n) {
      current = new Date(current.getTime() + n * 86_400_000);
    },
  };
}

export const DAY_MS = 86_400_000;

/** Whole days from a to b (b − a), by UTC calendar date. */
export function daysBetween(a: Date, b: Date): number {
  const ua = Date.UTC(a.getUTCFullYear(), a.getUTCMonth(), a.getUTCDate());
  const ub = Date.UTC(b.getUTCFullYear(), b.getUTCMonth(), b.getUTCDate());
  return Math.round((ub - ua) / DAY_MS);
}

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}
