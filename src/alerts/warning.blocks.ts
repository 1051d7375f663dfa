import { age, BAND_EMOJI, formatMoney, relativeDays, shortDate } from '../customers/format.js';
import type { Band, StoredDriver } from '../scores/score.table.js';
import { actions, button, context, fields, header, section, choiceAndNoteModal, withStatusLine, type Block } from '../slack/blocks.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import { ALERT_ACTIONS } from '../slack/ids.js';
import type { AlertActivity } from './alert.table.js';
import type { WarningRule } from './warning.rules.js';

/** Pure Block Kit builders for churn warnings; every customer-supplied string is escaped. */
export interface WarningView {
  alertId: string;
  customerName: string;
  health: number;
  band: Band;
  /** Sentences saying which rules fired (describeTriggers). */
  reasons: string[];
  rule: WarningRule;
  drivers: StoredDriver[];
  arr: number | null;
  currency: string | null;
  renewalDate: string | null;
  tier: string | null;
  ownerSlackId: string | null;
  /** Unicode sparkline of recent health scores ('' when too few). */
  trend: string;
  nextStep: string;
  snoozeDays: number;
  /** Measure weights behind the score, and when its newest data arrived (every alert explains itself). */
  weights?: { key: string; weight: number }[];
  newestDataAt?: Date | null;
}

export const WARNING_STATUS_BLOCK = 'alert_status';
export const WARNING_ACTIONS_BLOCK = 'alert_actions';

/**
 * The buttons of an alert message (churn warning, complaint on a tier-A
 * account) and the status line under them that each click rewrites in place.
 * `snoozeDays` null: no snooze (a one-off alert has nothing to wait out).
 */
export function alertButtons(alertId: string, snoozeDays: number | null): Block[] {
  return [
    actions(
      WARNING_ACTIONS_BLOCK,
      button(ALERT_ACTIONS.logFollowUp, 'Log follow-up', alertId, 'primary'),
      ...(snoozeDays !== null ? [button(ALERT_ACTIONS.snooze, `Snooze ${snoozeDays} days`, alertId)] : []),
      button(ALERT_ACTIONS.acknowledge, 'Acknowledge', alertId),
      button(ALERT_ACTIONS.useful, 'Useful', alertId),
      button(ALERT_ACTIONS.falseAlarm, 'False alarm', alertId),
    ),
    { ...context('_No one has acted on this yet._'), block_id: WARNING_STATUS_BLOCK },
  ];
}

export function warningMessage(v: WarningView, now: Date): { text: string; blocks: Block[] } {
  const blocks: Block[] = [header(`⚠️ Churn warning: ${v.customerName}`)];
  blocks.push(
    section(
      `${BAND_EMOJI[v.band]} *Health ${v.health}* · ${v.band}${v.trend ? `   ${v.trend}` : ''}\n${v.reasons.map((r) => `• ${escapeMrkdwn(r)}`).join('\n')}`,
    ),
  );
  const down = v.drivers.filter((d) => d.direction === 'down').slice(0, 4);
  const shown = down.length ? down : v.drivers.slice(0, 3);
  if (shown.length) blocks.push(section(`*Why*\n${shown.map((d) => `${d.direction === 'down' ? '↓' : '↑'} ${safeText(d.text, 300)}`).join('\n')}`));
  blocks.push(
    fields([
      ['ARR', formatMoney(v.arr, v.currency)],
      ['Renewal', v.renewalDate ? `${shortDate(v.renewalDate)} (${relativeDays(v.renewalDate, now)})` : 'unknown'],
      ['Tier', v.tier ?? '–'],
      ['Owner', v.ownerSlackId ? mention(v.ownerSlackId) : '_unowned_'],
    ]),
  );
  blocks.push(section(`*Suggested next step:* ${escapeMrkdwn(v.nextStep)}`));
  const weights = (v.weights ?? [])
    .filter((w) => w.weight > 0)
    .sort((a, b) => b.weight - a.weight)
    .map((w) => `${escapeMrkdwn(w.key)} ${Math.round(w.weight * 100)}%`)
    .join(', ');
  const newest = v.newestDataAt === undefined ? null : v.newestDataAt ? `newest data ${age(v.newestDataAt, now)}` : 'no signals yet';
  if (weights || newest) blocks.push(context([newest, weights ? `weights: ${weights}` : null].filter(Boolean).join(' · ')));
  blocks.push(...alertButtons(v.alertId, v.snoozeDays));
  const text = safeText(`Churn warning: ${v.customerName} — health ${v.health} (${v.band}); ${v.reasons.join('; ')}`, 400);
  return { text, blocks };
}

/** "acknowledged by @a · snoozed until Dec 1 by @b · marked useful by @c". */
export function activityLine(activity: readonly AlertActivity[], resolved: { reason: string | null } | null): string {
  const parts = activity.map((a) => {
    const who = mention(a.by);
    switch (a.what) {
      case 'acknowledged':
        return `✅ acknowledged by ${who}`;
      case 'snoozed':
        return `😴 snoozed until ${a.detail ? shortDate(a.detail) : '?'} by ${who}`;
      case 'useful':
        return `👍 marked useful by ${who}`;
      case 'false_alarm':
        return `👎 marked a false alarm by ${who}`;
      case 'follow_up':
        return `📞 follow-up logged${a.detail ? ` (${escapeMrkdwn(a.detail)})` : ''} by ${who}`;
    }
  });
  if (resolved) parts.push(`🟢 resolved${resolved.reason ? ` (${escapeMrkdwn(resolved.reason.replace(/_/g, ' '))})` : ''}`);
  return parts.length ? parts.join(' · ') : '_No one has acted on this yet._';
}

/**
 * The same message with its status line showing who did what; once the
 * warning is resolved the buttons go.
 */
export function withWarningStatus(original: readonly Block[], activity: readonly AlertActivity[], resolved: { reason: string | null } | null): Block[] {
  return withStatusLine(original, WARNING_STATUS_BLOCK, activityLine(activity, resolved), resolved ? WARNING_ACTIONS_BLOCK : undefined);
}

/** The modal of "Log follow-up": what kind of touch, and a note. */
export function followUpModal(privateMetadata: string, customerName: string | null): Record<string, unknown> {
  return choiceAndNoteModal({
    callbackId: ALERT_ACTIONS.followUpView,
    privateMetadata,
    title: 'Log follow-up',
    submit: 'Log it',
    intro: customerName ? `Follow-up with *${safeText(customerName, 200)}*` : null,
    choice: {
      blockId: 'kind',
      label: 'What kind of touch?',
      initial: 'call',
      options: [
        { label: 'Call', value: 'call' },
        { label: 'Meeting', value: 'meeting' },
        { label: 'Email', value: 'email' },
        { label: 'QBR', value: 'qbr' },
        { label: 'Note', value: 'note' },
      ],
    },
    noteLabel: 'What did you learn?',
  });
}
