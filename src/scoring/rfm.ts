/**
 * RFM: recency, frequency and monetary quintile scores (1–5) across the active
 * base, and the named segments of the common R × FM grid.
 *
 * Quintiles are rank-based with mid-ranks for ties: a value's score is
 * 1 + ⌊5 · (midRank + ½) / n⌋ (midRank 0-based, the average position of its
 * ties), so equal values always get equal scores (all-equal values score 3),
 * the scores do not depend on input order, and with distinct values each
 * score holds a fifth of the base.
 * Recency is scored so that more recent (fewer days since the last purchase)
 * is better: 5 = most recent.
 */

export const RFM_SEGMENTS = [
  'Champions',
  'Loyal',
  'Potential loyalist',
  'New',
  'Promising',
  'Needs attention',
  'About to sleep',
  'At risk',
  "Can't lose them",
  'Hibernating',
  'Lost',
] as const;

export type RfmSegment = (typeof RFM_SEGMENTS)[number];

export type Quintile = 1 | 2 | 3 | 4 | 5;

export interface RfmInput<Id = string> {
  readonly id: Id;
  /** Days since the last purchase. */
  readonly recencyDays: number;
  /** Purchases (purchase days) in the look-back window. */
  readonly frequency: number;
  /** Spend in the look-back window. */
  readonly monetary: number;
}

export interface RfmScore<Id = string> {
  readonly id: Id;
  readonly r: Quintile;
  readonly f: Quintile;
  readonly m: Quintile;
  /** round((F + M) / 2), halves rounded up. */
  readonly fm: Quintile;
  /** The three digits, e.g. '545'. */
  readonly cell: string;
  readonly segment: RfmSegment;
}

/**
 * The R × FM grid. Rows are R = 5 (most recent) down to R = 1; columns are
 * FM = 1 … 5. It is the widely used R × F segment map (champions 5/4–5,
 * loyal 3–4/4–5, potential loyalists 4–5/2–3, new 5/1, promising 4/1, needs
 * attention 3/3, about to sleep 3/1–2, at risk 1–2/3–4, can't lose them
 * 1–2/5, hibernating 1–2/1–2) with F replaced by the average of F and M, and
 * its hibernating block split so the least recent row (R = 1) is 'Lost'.
 */
const GRID: Readonly<Record<Quintile, readonly [RfmSegment, RfmSegment, RfmSegment, RfmSegment, RfmSegment]>> = {
  5: ['New', 'Potential loyalist', 'Potential loyalist', 'Champions', 'Champions'],
  4: ['Promising', 'Potential loyalist', 'Potential loyalist', 'Loyal', 'Loyal'],
  3: ['About to sleep', 'About to sleep', 'Needs attention', 'Loyal', 'Loyal'],
  2: ['Hibernating', 'Hibernating', 'At risk', 'At risk', "Can't lose them"],
  1: ['Lost', 'Lost', 'At risk', 'At risk', "Can't lose them"],
};

/** The named segment of an R score and an FM score. */
export function rfmSegment(r: Quintile, fm: Quintile): RfmSegment {
  return GRID[r][fm - 1]!;
}

/**
 * Quintile scores of values, 1 = lowest, 5 = highest, by mid-rank. Non-finite
 * values rank lowest.
 */
export function quintileScores(values: readonly number[]): Quintile[] {
  const n = values.length;
  const clean = values.map((v) => (Number.isFinite(v) ? v : Number.NEGATIVE_INFINITY));
  const order = clean.map((_, i) => i).sort((i, j) => clean[i]! - clean[j]! || i - j);
  const scores = new Array<Quintile>(n);
  let start = 0;
  while (start < n) {
    let end = start;
    while (end + 1 < n && clean[order[end + 1]!] === clean[order[start]!]) end++;
    const midRank = (start + end) / 2;
    const score = Math.min(5, 1 + Math.floor((5 * (midRank + 0.5)) / n)) as Quintile;
    for (let k = start; k <= end; k++) scores[order[k]!] = score;
    start = end + 1;
  }
  return scores;
}

/** RFM scores and segments for the active base, in input order. */
export function scoreRfm<Id>(customers: readonly RfmInput<Id>[]): RfmScore<Id>[] {
  const r = quintileScores(customers.map((c) => -c.recencyDays));
  const f = quintileScores(customers.map((c) => c.frequency));
  const m = quintileScores(customers.map((c) => c.monetary));
  return customers.map((c, i) => {
    const ri = r[i]!;
    const fi = f[i]!;
    const mi = m[i]!;
    const fm = Math.floor((fi + mi + 1) / 2) as Quintile;
    return { id: c.id, r: ri, f: fi, m: mi, fm, cell: `${ri}${fi}${mi}`, segment: rfmSegment(ri, fm) };
  });
}
