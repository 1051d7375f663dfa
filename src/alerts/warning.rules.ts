import type { Band, StoredDriver } from '../scores/score.table.js';
import type { AlertRule } from './alert.table.js';

/**
 * Churn-warning decisions: pure, `now` passed in.
 *
 * A warning is raised when an active customer is in the red band, or its
 * health fell by ≥ dropPoints within dropWindowDays, or its P(alive) is below
 * pAliveBelow — and it has no warning in force. A warning stays in force
 * (open, acknowledged or snoozed) until the customer recovers: back above the
 * red threshold + recoverMargin with no rule firing. A snoozed warning whose
 * snooze has expired while a rule still fires is replaced by a new episode.
 */
export type WarningRule = Exclude<AlertRule, 'complaint_tier_a'>;
/** The main rule of a warning is the first that fired, in this order. */
export const RULE_ORDER: readonly WarningRule[] = ['red_band', 'score_drop', 'p_alive'];

export interface WarningThresholds {
  /** Health below this is the red band (scoring.bands.red). */
  redBelow: number;
  dropPoints: number;
  dropWindowDays: number;
  pAliveBelow: number;
  recoverMargin: number;
}

/**
 * P(alive) hovering around the threshold would raise and resolve on every
 * run; it must climb this far above it to count as recovered.
 */
export const P_ALIVE_RECOVER_MARGIN = 0.05;

export type WarningStatus = 'open' | 'acknowledged' | 'snoozed';

export interface WarningInput {
  customerId: string;
  /** customers.status === 'active': churned accounts are never warned about. */
  active: boolean;
  health: number;
  band: Band;
  pAlive: number | null;
  /** Highest health in score history within the drop window before this score. */
  windowMaxHealth: number | null;
  /** The warning in force, if any. */
  current: null | { id: string; status: WarningStatus; snoozedUntil: Date | null };
}

export type WarningDecision =
  | { kind: 'raise'; customerId: string; rule: WarningRule; triggers: WarningRule[]; drop: number | null; replaces: string | null }
  | { kind: 'resolve'; customerId: string; alertId: string; reason: 'recovered' | 'churned' }
  | { kind: 'keep'; customerId: string };

export function firingRules(input: WarningInput, t: WarningThresholds): WarningRule[] {
  if (!input.active) return [];
  const fired: WarningRule[] = [];
  if (input.band === 'red') fired.push('red_band');
  if (input.windowMaxHealth !== null && input.windowMaxHealth - input.health >= t.dropPoints) fired.push('score_drop');
  if (input.pAlive !== null && input.pAlive < t.pAliveBelow) fired.push('p_alive');
  return fired;
}

export function hasRecovered(input: WarningInput, t: WarningThresholds): boolean {
  return (
    input.health >= t.redBelow + t.recoverMargin &&
    input.band !== 'red' &&
    !(input.windowMaxHealth !== null && input.windowMaxHealth - input.health >= t.dropPoints) &&
    (input.pAlive === null || input.pAlive >= t.pAliveBelow + P_ALIVE_RECOVER_MARGIN)
  );
}

export function decideWarning(input: WarningInput, t: WarningThresholds, now: Date): WarningDecision {
  const { customerId, current } = input;
  if (!input.active) return current ? { kind: 'resolve', customerId, alertId: current.id, reason: 'churned' } : { kind: 'keep', customerId };
  const fired = firingRules(input, t);
  const raise = (replaces: string | null): WarningDecision => ({
    kind: 'raise',
    customerId,
    rule: fired[0]!,
    triggers: fired,
    drop: input.windowMaxHealth !== null && input.windowMaxHealth > input.health ? input.windowMaxHealth - input.health : null,
    replaces,
  });
  if (!current) return fired.length ? raise(null) : { kind: 'keep', customerId };
  if (hasRecovered(input, t)) return { kind: 'resolve', customerId, alertId: current.id, reason: 'recovered' };
  const snoozeOver = current.status === 'snoozed' && current.snoozedUntil !== null && current.snoozedUntil.getTime() <= now.getTime();
  if (snoozeOver && fired.length) return raise(current.id);
  return { kind: 'keep', customerId };
}

export function decideWarnings(inputs: readonly WarningInput[], t: WarningThresholds, now: Date): WarningDecision[] {
  return inputs.map((i) => decideWarning(i, t, now));
}

/** Why the warning was raised, in words a rep reads. */
export function describeTriggers(
  triggers: readonly WarningRule[],
  v: { health: number; drop: number | null; pAlive: number | null },
  t: Pick<WarningThresholds, 'dropWindowDays' | 'pAliveBelow'>,
): string[] {
  return triggers.map((r) => {
    switch (r) {
      case 'red_band':
        return 'in the red band';
      case 'score_drop':
        return `health fell ${v.drop ?? '?'} points within ${t.dropWindowDays} days`;
      case 'p_alive':
        return `P(alive) ${v.pAlive?.toFixed(2) ?? '?'}, below ${t.pAliveBelow} — orders have stopped`;
    }
  });
}

/**
 * The suggested next step: the driver pulling the score down hardest decides
 * it; a renewal close at hand comes first.
 */
const NEXT_STEP: Record<string, string> = {
  engagement: 'Book a usage review this week: find out which team stopped using the product, and why.',
  purchase: 'Call the buyer about their ordering plans for the next quarter; ask what changed.',
  complaints: 'Call about the open complaints, agree a fix and a date, and confirm it in writing.',
  sentiment: 'Read the recent feedback and answer the negative items personally.',
  cadence: 'Schedule a check-in call this week — the account is overdue for a touch.',
  payments: 'Sort out the failed payments with their billing contact before they turn into churn.',
  nps: 'Follow up on the low NPS: ask what would make it a 9, and log the answer.',
};
const DEFAULT_STEP = 'Call the main contact this week and log what you learn.';

export function suggestNextStep(drivers: readonly StoredDriver[], daysToRenewal: number | null): string {
  const down = drivers.filter((d) => d.direction === 'down').sort((a, b) => a.impact - b.impact);
  const step = (down[0] && NEXT_STEP[down[0].key]) ?? DEFAULT_STEP;
  if (daysToRenewal !== null && daysToRenewal >= 0 && daysToRenewal <= 60) {
    return `Renewal in ${daysToRenewal} day${daysToRenewal === 1 ? '' : 's'}: confirm the decision-maker and timeline. ${step}`;
  }
  return step;
}
