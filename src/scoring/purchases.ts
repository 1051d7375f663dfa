/**
 * Turns a customer's order history into the summary the buy-till-you-die
 * models use, following the conventions of Fader, Hardie & Lee (2005):
 *
 * - orders on the same calendar day are one purchase (amounts summed);
 * - the first purchase day is not a repeat purchase;
 * - x   = number of repeat purchase days on or before the as-of day;
 * - t_x = days from the first purchase to the last repeat purchase / unit (0 if x = 0);
 * - T   = days from the first purchase to the as-of day / unit;
 * - mean = mean value per repeat purchase day (0 if x = 0), for Gamma-Gamma.
 *
 * The unit defaults to weeks (7 days). Days are calendar days in UTC shifted
 * by `utcOffsetMinutes`, so a team can count days in its own time zone.
 */
import { ScoringError } from './errors.js';

export interface Order {
  /** A Date, or an ISO string ('YYYY-MM-DD' is read as that calendar day). */
  readonly date: Date | string;
  /** Order value; refunds may be negative and are netted within the day. */
  readonly amount: number;
}

export interface PurchaseDay {
  /** Day number: whole days since 1970-01-01. */
  readonly day: number;
  readonly amount: number;
  /** Orders merged into this purchase day. */
  readonly orders: number;
}

export interface PurchaseSummary {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
  readonly mean: number;
  /** All purchase days on or before the as-of day, the first included. */
  readonly purchaseDays: number;
  readonly totalAmount: number;
  readonly firstPurchaseDay: number;
  readonly lastPurchaseDay: number;
  readonly daysSinceLastPurchase: number;
}

export interface PurchaseOptions {
  /** Days per model time unit. Default 7 (weeks). */
  readonly unitDays?: number;
  /** Offset of the local calendar from UTC, in minutes. Default 0. */
  readonly utcOffsetMinutes?: number;
}

const MS_PER_DAY = 86_400_000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whole days since 1970-01-01 of a date, in UTC shifted by `utcOffsetMinutes`. */
export function dayNumber(date: Date | string, utcOffsetMinutes = 0): number {
  let ms: number;
  if (typeof date === 'string') {
    const m = ISO_DAY.exec(date);
    if (m) return Math.floor(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / MS_PER_DAY);
    ms = Date.parse(date);
  } else {
    ms = date.getTime();
  }
  if (!Number.isFinite(ms)) {
    throw new ScoringError('SCORING_INVALID_ARGUMENT', `not a valid date: ${String(date)}`);
  }
  return Math.floor((ms + utcOffsetMinutes * 60_000) / MS_PER_DAY);
}

/** The calendar date ('YYYY-MM-DD') of a day number. */
export function dayToIsoDate(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Orders merged into purchase days, sorted by day. */
export function toPurchaseDays(orders: readonly Order[], options: PurchaseOptions = {}): PurchaseDay[] {
  const byDay = new Map<number, { amount: number; orders: number }>();
  for (const o of orders) {
    if (!Number.isFinite(o.amount)) {
      throw new ScoringError('SCORING_INVALID_ARGUMENT', `order amount must be a finite number, got ${o.amount}`);
    }
    const day = dayNumber(o.date, options.utcOffsetMinutes ?? 0);
    const cur = byDay.get(day);
    if (cur) {
      cur.amount += o.amount;
      cur.orders += 1;
    } else {
      byDay.set(day, { amount: o.amount, orders: 1 });
    }
  }
  return [...byDay.entries()].sort((p, q) => p[0] - q[0]).map(([day, v]) => ({ day, amount: v.amount, orders: v.orders }));
}

/**
 * The model summary of a customer's orders as of a day (orders after it are
 * ignored). Returns null when there is no order on or before the as-of day.
 */
export function summarizePurchases(orders: readonly Order[], asOf: Date | string, options: PurchaseOptions = {}): PurchaseSummary | null {
  const unit = options.unitDays ?? 7;
  if (!(unit > 0)) throw new ScoringError('SCORING_INVALID_ARGUMENT', `unitDays must be positive, got ${unit}`);
  const asOfDay = dayNumber(asOf, options.utcOffsetMinutes ?? 0);
  const days = toPurchaseDays(orders, options).filter((d) => d.day <= asOfDay);
  const first = days[0];
  const last = days[days.length - 1];
  if (!first || !last) return null;
  const x = days.length - 1;
  let repeatAmount = 0;
  let totalAmount = 0;
  for (let i = 0; i < days.length; i++) {
    totalAmount += days[i]!.amount;
    if (i > 0) repeatAmount += days[i]!.amount;
  }
  return {
    x,
    tx: x === 0 ? 0 : (last.day - first.day) / unit,
    T: (asOfDay - first.day) / unit,
    mean: x === 0 ? 0 : repeatAmount / x,
    purchaseDays: days.length,
    totalAmount,
    firstPurchaseDay: first.day,
    lastPurchaseDay: last.day,
    daysSinceLastPurchase: asOfDay - last.day,
  };
}

/** Purchase days (same-day orders merged) with afterDay < day ≤ untilDay. */
export function countPurchaseDaysBetween(orders: readonly Order[], after: Date | string, until: Date | string, options: PurchaseOptions = {}): number {
  const offset = options.utcOffsetMinutes ?? 0;
  const from = dayNumber(after, offset);
  const to = dayNumber(until, offset);
  return toPurchaseDays(orders, options).filter((d) => d.day > from && d.day <= to).length;
}
