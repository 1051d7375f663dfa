import type { ChurnReason } from '../alerts/alert.table.js';
import { daysFrom } from '../alerts/localtime.js';
import type { Band } from '../scores/score.table.js';
import { churnReasonCounts, renewalRates, type DecidedRenewal } from '../renewals/renewal.rules.js';
import { forecastOpenRenewals, type OpenRenewal, type RenewalModel } from '../renewals/renewal-model.rules.js';

/**
 * What the daily team digest shows, decided from candidate
 * rows the repository fetched. Pure: `now` and the team's local date are
 * passed in; each section is capped, remembering how many were left out.
 */

export interface CustomerRef {
  customerId: string;
  name: string;
  ownerSlackId: string | null;
  arr: number | null;
  currency: string | null;
}

export interface ScoreCandidate extends CustomerRef {
  health: number;
  band: Band;
  /** Band and health at the last score before the digest's day (null: not scored then). */
  previousBand: Band | null;
  previousHealth: number | null;
  scoredAt: Date;
}

export interface MoverCandidate extends CustomerRef {
  health: number;
  /** Health at the start of the movers window (null: no score that old). */
  baseline: number | null;
  /** Recent health scores, oldest first. */
  trend: number[];
}

export interface RenewalCandidate extends CustomerRef {
  renewalDate: string;
  health: number | null;
  band: Band | null;
}

export interface TierACandidate extends CustomerRef {
  lastTouchAt: Date | null;
}

export interface DisputeCandidate {
  disputeId: string;
  customerName: string;
  claimantSlackId: string | null;
  ownerSlackId: string | null;
  openedAt: Date;
  escalatedAt: Date | null;
}

export interface FeedbackCandidate {
  customerName: string;
  kind: 'complaint' | 'praise' | 'suggestion' | 'question';
  text: string;
  authorSlackId: string;
  createdAt: Date;
}

export interface FailedNotification {
  id: string;
  kind: string;
  channelId: string;
  reason: string | null;
  at: Date;
}

export interface DigestInput {
  now: Date;
  /** The team's local date of this digest ('YYYY-MM-DD'). */
  localDate: string;
  scores: ScoreCandidate[];
  movers: MoverCandidate[];
  renewals: RenewalCandidate[];
  tierA: TierACandidate[];
  disputes: DisputeCandidate[];
  unowned: CustomerRef[];
  /** Unowned accounts in total (the candidate list may be cut). */
  unownedTotal: number;
  feedback: FeedbackCandidate[];
  decidedThisQuarter: DecidedRenewal[];
  quarter: string;
  failed: FailedNotification[];
  /** The quarter's open renewals and the latest renewal model, for the quarter's forecast. */
  renewalOutlook?: { model: RenewalModel | null; open: OpenRenewal[] } | null;
}

export interface DigestSettings {
  cap: number;
  renewalWindowDays: number;
  cadenceDaysA: number;
  escalateAfterDays: number;
  /** A mover moved at least this many points. */
  minMove: number;
  renewalForecast?: { healthWeight: number; level: number };
}

export const DEFAULT_MIN_MOVE = 10;

export interface Section<T> {
  items: T[];
  /** Left out by the cap ("and N more"). */
  more: number;
}

export interface DigestModel {
  localDate: string;
  turnedRed: Section<ScoreCandidate>;
  movers: Section<MoverCandidate & { delta: number }>;
  renewalsSoon: Section<RenewalCandidate & { daysLeft: number }>;
  overdueTierA: Section<TierACandidate & { daysSinceTouch: number | null }>;
  disputes: Section<DisputeCandidate & { escalated: boolean; ageDays: number }>;
  unowned: Section<CustomerRef>;
  feedback: Section<FeedbackCandidate>;
  passedNoOutcome: Section<RenewalCandidate & { daysAgo: number }>;
  failed: Section<FailedNotification>;
  renewalRate: { quarter: string; renewed: number; decided: number; rate: number | null; reasons: { reason: ChurnReason | 'unknown'; count: number }[] };
  /** The quarter's open renewals as forecast (renewal model, pooled with the health model's chance); null without either. */
  renewalForecast: RenewalForecastLine | null;
  /** Nothing needs attention: the digest is one line. */
  quiet: boolean;
}

export interface RenewalForecastLine {
  quarter: string;
  open: number;
  expectedRate: number | null;
  arrAtRisk: number;
  low: number;
  high: number;
  level: number;
}

const DAY = 86_400_000;

function cap<T>(items: T[], n: number, total = items.length): Section<T> {
  return { items: items.slice(0, n), more: Math.max(0, total - Math.min(n, items.length)) };
}

const byArrDesc = (a: { arr: number | null; name: string }, b: { arr: number | null; name: string }) =>
  (b.arr ?? -1) - (a.arr ?? -1) || a.name.localeCompare(b.name);

export function buildDigest(input: DigestInput, s: DigestSettings): DigestModel {
  const { now, localDate } = input;
  const since = new Date(now.getTime() - DAY);

  const turnedRed = input.scores.filter((c) => c.band === 'red' && c.previousBand !== 'red' && c.scoredAt.getTime() >= since.getTime()).sort(byArrDesc);

  const movers = input.movers
    .filter((m) => m.baseline !== null && Math.abs(m.health - m.baseline) >= s.minMove)
    .map((m) => ({ ...m, delta: m.health - m.baseline! }))
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.delta - b.delta || a.name.localeCompare(b.name));

  const withDays = input.renewals.map((r) => ({ ...r, daysLeft: daysFrom(localDate, r.renewalDate) }));
  const renewalsSoon = withDays.filter((r) => r.daysLeft >= 0 && r.daysLeft <= s.renewalWindowDays).sort((a, b) => a.daysLeft - b.daysLeft || byArrDesc(a, b));
  const passedNoOutcome = withDays
    .filter((r) => r.daysLeft < 0)
    .map(({ daysLeft, ...r }) => ({ ...r, daysAgo: -daysLeft }))
    .sort((a, b) => a.daysAgo - b.daysAgo || byArrDesc(a, b));

  const overdueTierA = input.tierA
    .map((c) => ({ ...c, daysSinceTouch: c.lastTouchAt ? Math.floor((now.getTime() - c.lastTouchAt.getTime()) / DAY) : null }))
    .filter((c) => c.daysSinceTouch === null || c.daysSinceTouch > s.cadenceDaysA)
    .sort((a, b) => (b.daysSinceTouch ?? Infinity) - (a.daysSinceTouch ?? Infinity) || byArrDesc(a, b));

  const disputes = input.disputes
    .map((d) => {
      const ageDays = Math.floor((now.getTime() - d.openedAt.getTime()) / DAY);
      return { ...d, ageDays, escalated: d.escalatedAt !== null || ageDays >= s.escalateAfterDays };
    })
    .sort((a, b) => Number(b.escalated) - Number(a.escalated) || b.ageDays - a.ageDays);

  const unowned = [...input.unowned].sort(byArrDesc);

  const kindOrder = { complaint: 0, suggestion: 1, question: 2, praise: 3 } as const;
  const feedback = input.feedback
    .filter((f) => f.createdAt.getTime() >= since.getTime())
    .sort((a, b) => kindOrder[a.kind] - kindOrder[b.kind] || b.createdAt.getTime() - a.createdAt.getTime());

  const failed = [...input.failed].sort((a, b) => b.at.getTime() - a.at.getTime());

  const overall = renewalRates(input.decidedThisQuarter, ['all']).find((r) => r.quarter === input.quarter);
  const renewalRate = {
    quarter: input.quarter,
    renewed: overall?.renewed ?? 0,
    decided: overall?.decided ?? 0,
    rate: overall ? overall.rate : null,
    reasons: churnReasonCounts(input.decidedThisQuarter),
  };

  let renewalForecast: RenewalForecastLine | null = null;
  const outlook = input.renewalOutlook;
  if (outlook && s.renewalForecast) {
    const f = forecastOpenRenewals(outlook.open, outlook.model, s.renewalForecast).overall;
    if (outlook.model || f.renewals > 0) {
      renewalForecast = {
        quarter: input.quarter,
        open: f.renewals,
        expectedRate: f.expectedRenewalRate,
        arrAtRisk: f.expectedArrAtRisk,
        low: f.arrAtRiskInterval.low,
        high: f.arrAtRiskInterval.high,
        level: f.arrAtRiskInterval.level,
      };
    }
  }

  const model: DigestModel = {
    localDate,
    turnedRed: cap(turnedRed, s.cap),
    movers: cap(movers, s.cap),
    renewalsSoon: cap(renewalsSoon, s.cap),
    overdueTierA: cap(overdueTierA, s.cap),
    disputes: cap(disputes, s.cap),
    unowned: cap(unowned, s.cap, Math.max(input.unownedTotal, unowned.length)),
    feedback: cap(feedback, s.cap),
    passedNoOutcome: cap(passedNoOutcome, s.cap),
    failed: cap(failed, s.cap),
    renewalRate,
    renewalForecast,
    quiet: false,
  };
  model.quiet = [
    model.turnedRed,
    model.movers,
    model.renewalsSoon,
    model.overdueTierA,
    model.disputes,
    model.unowned,
    model.feedback,
    model.passedNoOutcome,
    model.failed,
  ].every((sec) => sec.items.length === 0);
  return model;
}

/**
 * Is a team's digest due now? Used to catch up a digest whose scheduled run
 * was missed (worker down at the hour; job schedulers do not backfill): due
 * from the team's digest hour until `catchUpHours` later, local time.
 */
export function digestDue(localHour: number, digestHour: number, catchUpHours: number): boolean {
  return localHour >= digestHour && localHour < digestHour + catchUpHours;
}
