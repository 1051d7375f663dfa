/**
 * Drivers: the measures that moved a health score most, as sentences a rep
 * understands, and detection of data sources that have gone quiet.
 */
import type { Measure, MeasureDetail, MeasureKey, PurchaseOutlookDetail } from './scorecard.js';

export interface Driver {
  readonly key: MeasureKey;
  readonly direction: 'down' | 'up';
  /** Health points this measure moved the score from neutral (negative = down). */
  readonly impact: number;
  readonly text: string;
}

export interface TopDriversOptions {
  /** Default 3. */
  readonly limit?: number;
  /** Drivers moving the score by less than this many points are left out. Default 0.5. */
  readonly minImpact?: number;
}

/**
 * The measures with the largest |impact| = weight × (score − neutral), largest
 * first; ties keep the measures' order.
 */
export function topDrivers(measures: readonly Measure[], options: TopDriversOptions = {}): Driver[] {
  const limit = options.limit ?? 3;
  const minImpact = options.minImpact ?? 0.5;
  return measures
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => Math.abs(m.impact) >= minImpact)
    .sort((p, q) => Math.abs(q.m.impact) - Math.abs(p.m.impact) || p.i - q.i)
    .slice(0, Math.max(0, limit))
    .map(({ m }) => ({
      key: m.key,
      direction: m.impact < 0 ? ('down' as const) : ('up' as const),
      impact: m.impact,
      text: m.text,
    }));
}

function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function formatAmount(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return v >= 100 ? String(Math.round(v)) : String(Number(v.toFixed(1)));
}

function signed(v: number): string {
  const s = v.toFixed(1);
  return v > 0 ? `+${s}` : s;
}

/** Expected orders as a rep reads them: "0.3", "2.1", "0.04", "12". */
function formatOrders(v: number): string {
  if (v >= 9.95) return String(Math.round(v));
  if (v >= 0.095) return v.toFixed(1);
  if (v >= 0.005) return v.toFixed(2);
  return v > 0 ? '<0.01' : '0';
}

function describePurchaseOutlook(o: PurchaseOutlookDetail): string {
  const horizon = `in the next ${plural(Math.round(o.horizonDays), 'day')}`;
  const since = Math.max(0, Math.round(o.daysSinceLastOrder));
  const ago = since === 0 ? 'today' : `${plural(since, 'day')} ago`;
  if (o.usualBasis === 'new-customer') {
    return `one order so far, ${ago}; expected ${formatOrders(o.expectedOrders)} orders ${horizon} vs ${formatOrders(o.usualOrders)} for a new customer`;
  }
  return `expected ${formatOrders(o.expectedOrders)} orders ${horizon} vs ${formatOrders(o.usualOrders)} at their usual pace (last order ${ago})`;
}

/** One sentence with the numbers in it, e.g. "no touch in 75 days; tier A expects one every 30". */
export function describeMeasure(detail: MeasureDetail): string {
  switch (detail.key) {
    case 'engagement': {
      const { usageLast30, usagePrev60, changePct } = detail;
      if (usageLast30 === 0 && usagePrev60 === 0) return 'no usage in 90 days';
      if (changePct === null) return 'usage started in the last 30 days (none in the previous 60)';
      if (usageLast30 === 0) return `no usage in the last 30 days, after ${formatAmount(usagePrev60)} in the previous 60`;
      const pct = Math.round(Math.abs(changePct));
      if (pct === 0) return 'usage flat vs the previous 60 days';
      return `usage ${changePct < 0 ? 'down' : 'up'} ${pct}% vs the previous 60 days`;
    }
    case 'purchase': {
      if (detail.outlook) return describePurchaseOutlook(detail.outlook);
      const p = detail.pAlive;
      const state = p < 0.3 ? 'orders have stopped' : p < 0.5 ? 'orders are slowing' : 'still ordering';
      return `P(alive) ${p.toFixed(2)} — ${state}`;
    }
    case 'complaints': {
      const { count90, count30 } = detail;
      if (count90 === 0) return 'no complaints in 90 days';
      if (count30 === count90) return `${plural(count30, 'complaint')} in 30 days`;
      if (count30 === 0) return `${plural(count90, 'complaint')} in 90 days (none in the last 30)`;
      return `${plural(count90, 'complaint')} in 90 days, ${count30} in the last 30`;
    }
    case 'sentiment': {
      const { mean, count, negative, positive } = detail;
      if (mean < 0 && negative !== null && count !== null && negative * 2 > count) {
        return `feedback mostly negative (${negative} of ${count})`;
      }
      if (mean > 0 && positive !== null && count !== null && positive * 2 > count) {
        return `feedback mostly positive (${positive} of ${count})`;
      }
      const lean = mean < 0 ? 'leaning negative' : mean > 0 ? 'leaning positive' : 'neutral';
      const over = count === null ? '' : ` over ${plural(count, 'item')}`;
      return `feedback ${lean} (average ${signed(mean)}${over})`;
    }
    case 'cadence': {
      const { daysSinceLastTouch, tier, expectedEveryDays } = detail;
      const expects = `tier ${tier} expects one every ${formatAmount(expectedEveryDays)}`;
      if (daysSinceLastTouch === null) return `never touched; ${expects}`;
      const d = Math.round(daysSinceLastTouch);
      if (daysSinceLastTouch > expectedEveryDays) return `no touch in ${plural(d, 'day')}; ${expects}`;
      if (d === 0) return `touched today; ${expects}`;
      return `touched ${plural(d, 'day')} ago; ${expects}`;
    }
    case 'payments':
      return detail.failures90d === 0 ? 'no failed payments in 90 days' : `${plural(detail.failures90d, 'failed payment')} in 90 days`;
    case 'nps':
      return `NPS ${detail.nps} (${detail.category})`;
  }
}

// ---------------------------------------------------------------------------
// Stale sources
// ---------------------------------------------------------------------------

export interface StaleSource {
  readonly kind: string;
  readonly daysSilent: number;
  readonly typicalGapDays: number;
  readonly text: string;
}

export interface StaleSourceOptions {
  /** A source is never stale before this many silent days. Default 3. */
  readonly staleAfterDays?: number;
  /** …nor before this many of its typical gaps. Default 3. */
  readonly gapMultiple?: number;
}

const KIND_LABELS: Readonly<Record<string, string>> = {
  usage: 'usage data',
  order: 'orders',
  ticket: 'tickets',
  complaint: 'complaints',
  payment_failed: 'payment events',
  nps: 'NPS answers',
  feedback: 'feedback',
  interaction: 'interactions',
};

/**
 * Measures a silent source would otherwise score as good news (no complaints,
 * no failed payments) or as decline (no usage, no orders). The caller passes
 * these to `scoreHealth({ exclude })` for the stale kinds.
 */
export const MEASURES_BY_SIGNAL_KIND: Readonly<Record<string, readonly MeasureKey[]>> = Object.freeze({
  usage: ['engagement'],
  order: ['purchase'],
  complaint: ['complaints'],
  payment_failed: ['payments'],
  nps: ['nps'],
});

function describeGap(days: number): string {
  if (days <= 1.5) return 'daily';
  if (days >= 6 && days <= 8) return 'weekly';
  if (days >= 28 && days <= 31) return 'monthly';
  return `every ${Math.round(days)} days`;
}

const MS_PER_DAY = 86_400_000;

/**
 * Signal kinds that used to arrive and have gone quiet: silent for at least
 * max(staleAfterDays, gapMultiple × typical gap) whole days. Kinds never seen,
 * or without a known typical gap, are not judged. Meant for a whole source
 * (e.g. the usage feed of a workspace) — for one customer, silence is a
 * behaviour the measures already score. Most silent first.
 */
export function staleSources(
  lastSeenByKind: Readonly<Record<string, Date | null | undefined>>,
  typicalGapByKind: Readonly<Record<string, number | null | undefined>>,
  now: Date,
  options: StaleSourceOptions = {},
): StaleSource[] {
  const staleAfterDays = options.staleAfterDays ?? 3;
  const gapMultiple = options.gapMultiple ?? 3;
  const out: StaleSource[] = [];
  for (const [kind, lastSeen] of Object.entries(lastSeenByKind)) {
    const gap = typicalGapByKind[kind];
    if (!lastSeen || typeof gap !== 'number' || !Number.isFinite(gap) || gap <= 0) continue;
    const daysSilent = Math.floor((now.getTime() - lastSeen.getTime()) / MS_PER_DAY);
    if (!Number.isFinite(daysSilent) || daysSilent < Math.max(staleAfterDays, gapMultiple * gap)) continue;
    const label = KIND_LABELS[kind] ?? `${kind} signals`;
    out.push({
      kind,
      daysSilent,
      typicalGapDays: gap,
      text: `no ${label} for ${plural(daysSilent, 'day')} (used to arrive ${describeGap(gap)})`,
    });
  }
  return out.sort((p, q) => q.daysSilent - p.daysSilent || (p.kind < q.kind ? -1 : p.kind > q.kind ? 1 : 0));
}

/** The measures to exclude from scoring because their source is stale. */
export function measuresToExclude(stale: readonly StaleSource[]): Set<MeasureKey> {
  const out = new Set<MeasureKey>();
  for (const s of stale) for (const key of MEASURES_BY_SIGNAL_KIND[s.kind] ?? []) out.add(key);
  return out;
}

/**
 * The median gap in days between consecutive distinct days on which a source
 * delivered signals, or null with fewer than two such days. Feeds
 * `staleSources`' typical gaps.
 */
export function typicalGapDays(arrivals: readonly Date[]): number | null {
  const days = [...new Set(arrivals.map((d) => Math.floor(d.getTime() / MS_PER_DAY)).filter(Number.isFinite))].sort((a, b) => a - b);
  if (days.length < 2) return null;
  const gaps: number[] = [];
  for (let i = 1; i < days.length; i++) gaps.push(days[i]! - days[i - 1]!);
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  return gaps.length % 2 === 1 ? gaps[mid]! : (gaps[mid - 1]! + gaps[mid]!) / 2;
}
