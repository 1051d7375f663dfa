import { describe, expect, it } from 'vitest';
import { followUpModal, warningMessage, withWarningStatus, type WarningView } from '../../src/alerts/warning.blocks.js';
import { churnModal, parseRenewalRef, reminderMessage, renewalRef, withRenewalStatus } from '../../src/renewals/renewal.blocks.js';
import { LIMITS, type Block } from '../../src/slack/blocks.js';
import { ALERT_ACTIONS, RENEWAL_ACTIONS } from '../../src/slack/ids.js';
import { visibleText } from '../helpers/text.js';

const NOW = new Date('2026-11-24T09:00:00Z');
const view: WarningView = {
  alertId: '42',
  customerName: '<!channel> Evil & Co',
  health: 31,
  band: 'red',
  reasons: ['in the red band', 'health fell 22 points within 14 days'],
  rule: 'red_band',
  drivers: [
    { key: 'engagement', direction: 'down', impact: -12, text: 'usage down 42% vs the previous 60 days' },
    { key: 'complaints', direction: 'down', impact: -6, text: '3 complaints in 30 days <@U999>' },
  ],
  arr: 120000,
  currency: 'USD',
  renewalDate: '2027-01-10',
  tier: 'A',
  ownerSlackId: 'U0ALICE',
  trend: '▇▆▅▃',
  nextStep: 'Book a usage review this week.',
  snoozeDays: 7,
  weights: [
    { key: 'engagement', weight: 0.25 },
    { key: 'purchase', weight: 0.2 },
    { key: 'nps', weight: 0 },
  ],
  newestDataAt: new Date('2026-11-22T09:00:00Z'),
};
const buttons = (blocks: Block[]) =>
  blocks.filter((b) => b.type === 'actions').flatMap((b) => (b as { elements: { action_id: string; value: string }[] }).elements);

describe('churn warning message', () => {
  it('names the customer, score and band, drivers, ARR, renewal, next step, with the five buttons', () => {
    const m = warningMessage(view, NOW);
    const text = visibleText(m.blocks);
    expect(text).toContain('Health 31');
    expect(text).toContain('red');
    expect(text).toContain('usage down 42%');
    expect(text).toContain('$120.0K');
    expect(text).toMatch(/Jan 10, 2027 \(in 47 days\)/);
    expect(text).toContain('Suggested next step:* Book a usage review');
    expect(text).toContain('▇▆▅▃');
    expect(text).toContain('newest data 2d ago · weights: engagement 25%, purchase 20%');
    expect(buttons(m.blocks).map((b) => b.action_id)).toEqual([
      ALERT_ACTIONS.logFollowUp,
      ALERT_ACTIONS.snooze,
      ALERT_ACTIONS.acknowledge,
      ALERT_ACTIONS.useful,
      ALERT_ACTIONS.falseAlarm,
    ]);
    expect(buttons(m.blocks).every((b) => b.value === '42')).toBe(true);
    expect(m.blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
  });

  it('keeps customer-supplied text inert', () => {
    const m = warningMessage(view, NOW);
    // The header is plain_text: it shows the name as typed and pings nobody.
    const belowHeader = visibleText(m.blocks.filter((b) => b.type !== 'header'));
    expect(belowHeader).not.toContain('<!channel>');
    expect(belowHeader).not.toContain('<@U999>');
    expect(belowHeader).toContain('&lt;@U999&gt;');
  });

  it('is re-rendered with who did what; resolved warnings lose their buttons', () => {
    const m = warningMessage(view, NOW);
    const acted = withWarningStatus(
      m.blocks,
      [
        { at: NOW.toISOString(), by: 'U0ALICE', what: 'acknowledged' },
        { at: NOW.toISOString(), by: 'U0BOB', what: 'snoozed', detail: '2026-12-01T09:00:00.000Z' },
        { at: NOW.toISOString(), by: 'U0MANAGER', what: 'useful' },
        { at: NOW.toISOString(), by: 'U0BOB', what: 'follow_up', detail: 'call' },
      ],
      null,
    );
    const status = visibleText(acted.find((b) => b.block_id === 'alert_status'));
    expect(status).toContain('acknowledged by <@U0ALICE>');
    expect(status).toContain('snoozed until Dec 1, 2026 by <@U0BOB>');
    expect(status).toContain('marked useful by <@U0MANAGER>');
    expect(status).toContain('follow-up logged (call) by <@U0BOB>');
    expect(buttons(acted)).toHaveLength(5);
    expect(acted.length).toBe(m.blocks.length);
    const resolved = withWarningStatus(m.blocks, [], { reason: 'recovered' });
    expect(buttons(resolved)).toHaveLength(0);
    expect(visibleText(resolved)).toContain('resolved (recovered)');
  });

  it('the follow-up modal carries where the click came from', () => {
    const modal = followUpModal('{"alertId":"42"}', 'Acme');
    expect(modal).toMatchObject({ type: 'modal', callback_id: ALERT_ACTIONS.followUpView, private_metadata: '{"alertId":"42"}' });
    expect((modal as { blocks: { block_id?: string }[] }).blocks.some((b) => b.block_id === 'kind')).toBe(true);
  });
});

describe('renewal reminder message', () => {
  const reminder = reminderMessage({
    customerId: '7',
    customerName: 'Globex',
    renewalDate: '2026-12-24',
    daysLeft: 30,
    reminderDay: 30,
    arr: 50000,
    currency: 'EUR',
    tier: 'B',
    ownerSlackId: 'U0BOB',
    health: 55,
    band: 'yellow',
    drivers: [{ key: 'cadence', direction: 'down', impact: -5, text: 'no touch in 75 days; tier B expects one every 90' }],
    trend: '▅▅▄',
    snoozeDays: 7,
  });

  it('says when, with health and drivers, and offers Renewed, Churned, Snooze for that renewal', () => {
    const text = visibleText(reminder.blocks);
    expect(text).toContain('Renewal in 30 days: Globex');
    expect(text).toContain('Health 55');
    expect(text).toContain('no touch in 75 days');
    expect(text).toContain('€50.0K');
    expect(buttons(reminder.blocks).map((b) => b.action_id)).toEqual([RENEWAL_ACTIONS.renewed, RENEWAL_ACTIONS.churned, RENEWAL_ACTIONS.snooze]);
    expect(parseRenewalRef(buttons(reminder.blocks)[0]!.value)).toEqual({ customerId: '7', renewalDate: '2026-12-24', reminderDay: 30 });
    expect(parseRenewalRef('nonsense')).toBeNull();
    expect(renewalRef('7', '2026-12-24', 30)).toBe('7|2026-12-24|30');
  });

  it('once decided shows the outcome and loses the buttons; a snooze keeps them', () => {
    const renewed = withRenewalStatus(reminder.blocks, { kind: 'renewed', by: 'U0BOB', nextDate: '2027-12-24' });
    expect(visibleText(renewed)).toContain('Marked *renewed* by <@U0BOB> — next renewal Dec 24, 2027');
    expect(buttons(renewed)).toHaveLength(0);
    const churned = withRenewalStatus(reminder.blocks, { kind: 'churned', by: 'U0BOB', reason: 'champion_left', note: '<!here> left' });
    expect(visibleText(churned)).toContain('reason: Champion left');
    expect(visibleText(churned)).not.toContain('<!here>');
    const snoozed = withRenewalStatus(reminder.blocks, { kind: 'snoozed', by: 'U0BOB', until: new Date('2026-12-01T00:00:00Z') });
    expect(buttons(snoozed)).toHaveLength(3);
    expect(visibleText(snoozed)).toContain('snoozed until Dec 1, 2026');
  });

  it('the churn modal asks for one of the six reasons and a note', () => {
    const modal = churnModal('{}', 'Globex') as { blocks: { block_id?: string; element?: { options?: { value: string }[] } }[] };
    const reason = modal.blocks.find((b) => b.block_id === 'reason')!;
    expect(reason.element!.options!.map((o) => o.value)).toEqual(['price', 'product_gap', 'competitor', 'budget', 'champion_left', 'other']);
    expect(modal.blocks.some((b) => b.block_id === 'note')).toBe(true);
  });
});
