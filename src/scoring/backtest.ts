/**
 * Backtest metrics: how well a risk score ranked the accounts that really
 * churned, and how a yes/no warning rule did. Pure.
 */

export interface RankedOutcome {
  /** Higher = riskier (e.g. 100 − health). */
  readonly risk: number;
  /** True when the account churned within the horizon. */
  readonly churned: boolean;
}

/**
 * Area under the ROC curve by the Mann–Whitney U statistic: the probability
 * that a random churner has a higher risk than a random survivor, ties
 * counting one half (mid-ranks). Null when there are no churners or no
 * survivors. Non-finite risks are left out.
 */
export function auc(items: readonly RankedOutcome[]): number | null {
  const clean = items.filter((i) => Number.isFinite(i.risk));
  const positives = clean.filter((i) => i.churned).length;
  const negatives = clean.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const sorted = [...clean].sort((a, b) => a.risk - b.risk);
  let rankSumPositives = 0;
  let start = 0;
  while (start < sorted.length) {
    let end = start;
    while (end + 1 < sorted.length && sorted[end + 1]!.risk === sorted[start]!.risk) end++;
    // 1-based mid-rank of the tie group.
    const midRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) if (sorted[k]!.churned) rankSumPositives += midRank;
    start = end + 1;
  }
  const u = rankSumPositives - (positives * (positives + 1)) / 2;
  return u / (positives * negatives);
}

export interface FlaggedOutcome {
  /** The rule would have warned about this account. */
  readonly flagged: boolean;
  readonly churned: boolean;
}

export interface PrecisionRecall {
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
  readonly trueNegatives: number;
  /** Churners among the flagged; null when nothing was flagged. */
  readonly precision: number | null;
  /** Flagged among the churners; null when nobody churned. */
  readonly recall: number | null;
  /** Share of churners in the whole set (what precision compares against). */
  readonly baseRate: number | null;
}

export function precisionRecall(items: readonly FlaggedOutcome[]): PrecisionRecall {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const i of items) {
    if (i.flagged && i.churned) tp++;
    else if (i.flagged) fp++;
    else if (i.churned) fn++;
    else tn++;
  }
  const n = tp + fp + fn + tn;
  return {
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    trueNegatives: tn,
    precision: tp + fp > 0 ? tp / (tp + fp) : null,
    recall: tp + fn > 0 ? tp / (tp + fn) : null,
    baseRate: n > 0 ? (tp + fn) / n : null,
  };
}

export interface ThresholdRow extends PrecisionRecall {
  /** The rule "warn when health is below this". */
  readonly below: number;
}

/**
 * What a warning at each health threshold would have done: precision and
 * recall of "warn when health < t" for each t. Lets a team pick its red band
 * from its own history instead of a default.
 */
export function thresholdSweep(items: readonly { health: number; churned: boolean }[], thresholds: readonly number[]): ThresholdRow[] {
  return thresholds.map((below) => ({ below, ...precisionRecall(items.map((i) => ({ flagged: i.health < below, churned: i.churned }))) }));
}
