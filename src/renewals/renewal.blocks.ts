import { CHURN_REASONS, type ChurnReason } from '../alerts/alert.table.js';
import { BAND_EMOJI, formatMoney, shortDate } from '../customers/format.js';
import type { Band, StoredDriver } from '../scores/score.table.js';
import { actions, button, context, fields, header, section, choiceAndNoteModal, withStatusLine, type Block } from '../slack/blocks.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import { RENEWAL_ACTIONS } from '../slack/ids.js';
import { CHURN_REASON_LABELS, renewalHeadline } from './renewal.rules.js';

/** Pure Block Kit builders for renewal reminders and their modal. */
export interface ReminderView {
  customerId: string;
  customerName: string;
  renewalDate: string;
  daysLeft: number;
  reminderDay: number;
  arr: number | null;
  currency: string | null;
  tier: string | null;
  ownerSlackId: string | null;
  health: number | null;
  band: Band | null;
  drivers: StoredDriver[];
  trend: string;
  snoozeDays: number;
}

export const RENEWAL_STATUS_BLOCK = 'renewal_status';
export const RENEWAL_ACTIONS_BLOCK = 'renewal_actions';

/** Button value: which renewal (customer + date) the click decides — a stale reminder can't decide the next one. */
export function renewalRef(customerId: string, renewalDate: string, reminderDay: number): string {
  return `${customerId}|${renewalDate}|${reminderDay}`;
}
export function parseRenewalRef(value: string | undefined): { customerId: string; renewalDate: string; reminderDay: number } | null {
  const m = /^(\d+)\|(\d{4}-\d{2}-\d{2})\|(\d+)$/.exec(value ?? '');
  return m ? { customerId: m[1]!, renewalDate: m[2]!, reminderDay: Number(m[3]) } : null;
}

export function reminderMessage(v: ReminderView): { text: string; blocks: Block[] } {
  const headline = renewalHeadline(v.daysLeft);
  const blocks: Block[] = [header(`🔔 ${headline}: ${v.customerName}`)];
  const health = v.health !== null && v.band ? `${BAND_EMOJI[v.band]} *Health ${v.health}* · ${v.band}${v.trend ? `   ${v.trend}` : ''}` : '_Not scored yet._';
  const drivers = v.drivers.slice(0, 3).map((d) => `${d.direction === 'down' ? '↓' : '↑'} ${safeText(d.text, 300)}`);
  blocks.push(section([health, ...drivers].join('\n')));
  blocks.push(
    fields([
      ['Renews', `${shortDate(v.renewalDate)}`],
      ['ARR', formatMoney(v.arr, v.currency)],
      ['Tier', v.tier ?? '–'],
      ['Owner', v.ownerSlackId ? mention(v.ownerSlackId) : '_unowned_'],
    ]),
  );
  const ref = renewalRef(v.customerId, v.renewalDate, v.reminderDay);
  blocks.push(
    actions(
      RENEWAL_ACTIONS_BLOCK,
      button(RENEWAL_ACTIONS.renewed, 'Renewed', ref, 'primary'),
      button(RENEWAL_ACTIONS.churned, 'Churned', ref, 'danger'),
      button(RENEWAL_ACTIONS.snooze, `Snooze ${v.snoozeDays} days`, ref),
    ),
  );
  blocks.push({ ...context('The owner or a manager marks the outcome; it feeds the renewal rate.'), block_id: RENEWAL_STATUS_BLOCK });
  const text = safeText(`${headline}: ${v.customerName} renews on ${v.renewalDate}${v.health !== null ? ` — health ${v.health} (${v.band})` : ''}`, 400);
  return { text, blocks };
}

export type RenewalStatus =
  | { kind: 'renewed'; by: string; nextDate: string }
  | { kind: 'churned'; by: string; reason: ChurnReason; note: string | null }
  | { kind: 'snoozed'; by: string; until: Date };

export function renewalStatusLine(s: RenewalStatus): string {
  switch (s.kind) {
    case 'renewed':
      return `✅ Marked *renewed* by ${mention(s.by)} — next renewal ${shortDate(s.nextDate)}`;
    case 'churned':
      return `❌ Marked *churned* by ${mention(s.by)} — reason: ${CHURN_REASON_LABELS[s.reason]}${s.note ? ` (“${safeText(s.note, 200)}”)` : ''}`;
    case 'snoozed':
      return `😴 Reminders snoozed until ${shortDate(s.until)} by ${mention(s.by)}`;
  }
}

/** The reminder with its status line; once decided, the buttons go. */
export function withRenewalStatus(original: readonly Block[], s: RenewalStatus): Block[] {
  // A snooze keeps the buttons; a decision removes them.
  return withStatusLine(original, RENEWAL_STATUS_BLOCK, renewalStatusLine(s), s.kind !== 'snoozed' ? RENEWAL_ACTIONS_BLOCK : undefined);
}

export function churnModal(privateMetadata: string, customerName: string | null): Record<string, unknown> {
  return choiceAndNoteModal({
    callbackId: RENEWAL_ACTIONS.churnView,
    privateMetadata,
    title: 'Mark as churned',
    submit: 'Mark churned',
    intro: customerName ? `Why did *${safeText(customerName, 200)}* churn?` : 'Why did the customer churn? The reasons feed the digest and the backtest.',
    choice: {
      blockId: 'reason',
      label: 'Main reason',
      placeholder: 'Choose a reason',
      options: CHURN_REASONS.map((r) => ({ label: CHURN_REASON_LABELS[r], value: r })),
    },
    noteLabel: 'What happened?',
  });
}

/** The modal turned into an explanation when the clicker may not decide. */
export function refusalModal(blocks: Block[]): Record<string, unknown> {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Not yours to decide' },
    close: { type: 'plain_text', text: 'Close' },
    blocks,
  };
}

export function refusalText(customerName: string, ownerSlackId: string | null): string {
  return `Only ${ownerSlackId ? `${mention(ownerSlackId)} (the owner of *${escapeMrkdwn(customerName)}*)` : `the owner of *${escapeMrkdwn(customerName)}*`} or a manager of its team can mark this renewal. Nothing was changed.`;
}
