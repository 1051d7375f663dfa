import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, addYear, daysFrom, localDate, localParts, quarterBounds, quarterOf } from '../../src/alerts/localtime.js';
import { alertDestination } from '../../src/alerts/destination.rules.js';
import { canActOnWarning, canDecideRenewal, type Actor } from '../../src/alerts/permissions.rules.js';
import { alertStats, formatAlertStats, precision } from '../../src/alerts/stats.rules.js';
import { decideWarning, describeTriggers, suggestNextStep, type WarningInput, type WarningThresholds } from '../../src/alerts/warning.rules.js';
import { churnReasonCounts, dueReminderDay, renewalRates, type DecidedRenewal } from '../../src/renewals/renewal.rules.js';

const T: WarningThresholds = { redBelow: 40, dropPoints: 15, dropWindowDays: 14, pAliveBelow: 0.3, recoverMargin: 5 };
const NOW = new Date('2026-11-24T09:00:00Z');
const base: WarningInput = { customerId: '1', active: true, health: 75, band: 'green', pAlive: 0.8, windowMaxHealth: 78, current: null };

describe('churn warning decisions', () => {
  it('raises for the red band, a 15-point drop within the window, and P(alive) below 0.3', () => {
    expect(decideWarning({ ...base, health: 35, band: 'red', windowMaxHealth: 38 }, T, NOW)).toMatchObject({
      kind: 'raise',
      rule: 'red_band',
      triggers: ['red_band'],
    });
    expect(decideWarning({ ...base, health: 60, band: 'yellow', windowMaxHealth: 75 }, T, NOW)).toMatchObject({ kind: 'raise', rule: 'score_drop', drop: 15 });
    expect(decideWarning({ ...base, pAlive: 0.2 }, T, NOW)).toMatchObject({ kind: 'raise', rule: 'p_alive' });
    expect(decideWarning({ ...base, health: 30, band: 'red', windowMaxHealth: 70, pAlive: 0.1 }, T, NOW)).toMatchObject({
      kind: 'raise',
      rule: 'red_band',
      triggers: ['red_band', 'score_drop', 'p_alive'],
      drop: 40,
    });
  });

  it('leaves healthy customers, small drops and churned customers alone', () => {
    expect(decideWarning(base, T, NOW).kind).toBe('keep');
    expect(decideWarning({ ...base, health: 64, band: 'yellow', windowMaxHealth: 78 }, T, NOW).kind).toBe('keep');
    expect(decideWarning({ ...base, windowMaxHealth: null }, T, NOW).kind).toBe('keep');
    expect(decideWarning({ ...base, active: false, health: 10, band: 'red', pAlive: 0.01 }, T, NOW).kind).toBe('keep');
  });

  it('does not raise again while a warning is in force (hysteresis)', () => {
    const current = { id: '9', status: 'open' as const, snoozedUntil: null };
    expect(decideWarning({ ...base, health: 30, band: 'red', current }, T, NOW).kind).toBe('keep');
    // back to yellow but not above 40 + 5: still in force
    expect(decideWarning({ ...base, health: 43, band: 'yellow', windowMaxHealth: 44, current }, T, NOW).kind).toBe('keep');
    expect(decideWarning({ ...base, health: 45, band: 'yellow', windowMaxHealth: 46, current }, T, NOW)).toEqual({
      kind: 'resolve',
      customerId: '1',
      alertId: '9',
      reason: 'recovered',
    });
  });

  it('does not count a drop still inside the window, or P(alive) just over the line, as recovered', () => {
    const current = { id: '9', status: 'acknowledged' as const, snoozedUntil: null };
    expect(decideWarning({ ...base, health: 60, band: 'yellow', windowMaxHealth: 80, current }, T, NOW).kind).toBe('keep');
    expect(decideWarning({ ...base, pAlive: 0.31, current }, T, NOW).kind).toBe('keep');
    expect(decideWarning({ ...base, pAlive: 0.4, current }, T, NOW).kind).toBe('resolve');
  });

  it('raises a new episode once a snooze has expired and a rule still fires', () => {
    const snoozed = { id: '9', status: 'snoozed' as const, snoozedUntil: new Date('2026-11-30T00:00:00Z') };
    expect(decideWarning({ ...base, health: 30, band: 'red', current: snoozed }, T, NOW).kind).toBe('keep');
    const expired = { ...snoozed, snoozedUntil: new Date('2026-11-20T00:00:00Z') };
    expect(decideWarning({ ...base, health: 30, band: 'red', current: expired }, T, NOW)).toMatchObject({ kind: 'raise', replaces: '9' });
  });

  it('closes the warning of a customer that churned', () => {
    expect(decideWarning({ ...base, active: false, current: { id: '3', status: 'open', snoozedUntil: null } }, T, NOW)).toMatchObject({
      kind: 'resolve',
      reason: 'churned',
    });
  });

  it('never flaps: raise → keep on the same input, for any input (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.option(fc.integer({ min: 0, max: 100 })),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
        (health, windowMax, pAlive) => {
          const band = health < 40 ? 'red' : health < 70 ? 'yellow' : 'green';
          const input: WarningInput = { customerId: '1', active: true, health, band, pAlive, windowMaxHealth: windowMax, current: null };
          const first = decideWarning(input, T, NOW);
          if (first.kind !== 'raise') return true;
          const again = decideWarning({ ...input, current: { id: '1', status: 'open', snoozedUntil: null } }, T, NOW);
          return again.kind === 'keep';
        },
      ),
    );
  });

  it('describes the triggers in words', () => {
    expect(describeTriggers(['red_band', 'score_drop', 'p_alive'], { health: 30, drop: 22, pAlive: 0.12 }, T)).toEqual([
      'in the red band',
      'health fell 22 points within 14 days',
      'P(alive) 0.12, below 0.3 — orders have stopped',
    ]);
  });
});

describe('suggested next step', () => {
  it('follows the driver pulling the score down hardest', () => {
    const drivers = [
      { key: 'cadence', direction: 'down' as const, impact: -4, text: 'no touch in 75 days' },
      { key: 'engagement', direction: 'down' as const, impact: -12, text: 'usage down 42%' },
      { key: 'nps', direction: 'up' as const, impact: 3, text: 'NPS 9' },
    ];
    expect(suggestNextStep(drivers, null)).toMatch(/usage review/);
    expect(suggestNextStep([drivers[0]!], null)).toMatch(/check-in call/);
    expect(suggestNextStep([], null)).toMatch(/Call the main contact/);
  });
  it('puts a near renewal first', () => {
    expect(suggestNextStep([], 21)).toMatch(/^Renewal in 21 days: confirm the decision-maker/);
    expect(suggestNextStep([], 200)).not.toMatch(/Renewal/);
  });
});

describe('where alerts go', () => {
  it("owner's alert channel, else their DM, else the team channel", () => {
    expect(alertDestination({ ownerSlackId: 'U1', ownerAlertChannelId: 'C9', ownerActive: true, teamChannelId: 'CT' })).toBe('C9');
    expect(alertDestination({ ownerSlackId: 'U1', ownerAlertChannelId: null, ownerActive: true, teamChannelId: 'CT' })).toBe('U1');
    expect(alertDestination({ ownerSlackId: null, ownerAlertChannelId: null, ownerActive: null, teamChannelId: 'CT' })).toBe('CT');
    expect(alertDestination({ ownerSlackId: 'U1', ownerAlertChannelId: null, ownerActive: false, teamChannelId: 'CT' })).toBe('CT');
    expect(alertDestination({ ownerSlackId: null, ownerAlertChannelId: null, ownerActive: null, teamChannelId: null })).toBeNull();
  });
});

describe('permissions', () => {
  const rep: Actor = { memberId: 2, slackUserId: 'U2', role: 'rep', teamId: 1 };
  const manager: Actor = { memberId: 3, slackUserId: 'U3', role: 'manager', teamId: 1 };
  const otherManager: Actor = { memberId: 4, slackUserId: 'U4', role: 'manager', teamId: 2 };
  const admin: Actor = { memberId: 5, slackUserId: 'U5', role: 'admin', teamId: 2 };
  it('renewals: only the owner, a manager of the team, or an admin decide', () => {
    const acct = { ownerMemberId: 7, teamId: 1 };
    expect(canDecideRenewal(rep, acct)).toBe(false);
    expect(canDecideRenewal(rep, { ...acct, ownerMemberId: 2 })).toBe(true);
    expect(canDecideRenewal(manager, acct)).toBe(true);
    expect(canDecideRenewal(otherManager, acct)).toBe(false);
    expect(canDecideRenewal(admin, acct)).toBe(true);
    expect(canDecideRenewal(null, acct)).toBe(false);
  });
  it('warnings: anyone in the account team, the owner, or an admin', () => {
    expect(canActOnWarning(rep, { ownerMemberId: 7, teamId: 1 })).toBe(true);
    expect(canActOnWarning(rep, { ownerMemberId: 7, teamId: 2 })).toBe(false);
    expect(canActOnWarning(admin, { ownerMemberId: 7, teamId: 1 })).toBe(true);
    expect(canActOnWarning(null, { ownerMemberId: null, teamId: null })).toBe(false);
  });
});

describe('renewal reminder days', () => {
  const days = [90, 60, 30, 14, 7, 1];
  it('is due on each reminder day', () => {
    for (const d of days) expect(dueReminderDay(d, days)).toBe(d);
  });
  it('after a missed scan, still the most recent reminder — never an older one', () => {
    expect(dueReminderDay(29, days)).toBe(30);
    expect(dueReminderDay(13, days)).toBe(14);
    expect(dueReminderDay(0, days)).toBe(1);
  });
  it('nothing before the first reminder day or after the date', () => {
    expect(dueReminderDay(91, days)).toBeNull();
    expect(dueReminderDay(-1, days)).toBeNull();
  });
  it('walking day by day yields each reminder day exactly once (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 365 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 5 }), (reminders, step) => {
        const sent = new Set<number>();
        const fired: number[] = [];
        for (let left = 400; left >= 0; left -= step) {
          const due = dueReminderDay(left, reminders);
          if (due !== null && !sent.has(due)) {
            sent.add(due);
            fired.push(due);
          }
        }
        // strictly decreasing, never repeated; with a daily scan, every reminder day
        return fired.every((d, i) => i === 0 || d < fired[i - 1]!) && (step !== 1 || fired.length === reminders.length);
      }),
    );
  });
});

describe('renewal rate', () => {
  const rows: DecidedRenewal[] = [
    { renewalDate: '2026-10-05', outcome: 'renewed', team: 'emea', owner: 'U1', tier: 'A' },
    { renewalDate: '2026-11-10', outcome: 'churned', team: 'emea', owner: 'U2', tier: 'B', churnReason: 'price' },
    { renewalDate: '2026-12-31', outcome: 'renewed', team: 'apac', owner: 'U3', tier: 'A' },
    { renewalDate: '2027-01-01', outcome: 'churned', team: 'apac', owner: 'U3', tier: 'A', churnReason: 'competitor' },
  ];
  it('is renewed ÷ decided per quarter, by team, owner and tier', () => {
    const rates = renewalRates(rows);
    const get = (q: string, d: string, k: string) => rates.find((r) => r.quarter === q && r.dimension === d && r.key === k);
    expect(get('2026-Q4', 'all', 'all')).toMatchObject({ renewed: 2, churned: 1, decided: 3 });
    expect(get('2026-Q4', 'all', 'all')!.rate).toBeCloseTo(2 / 3);
    expect(get('2026-Q4', 'team', 'emea')).toMatchObject({ renewed: 1, decided: 2, rate: 0.5 });
    expect(get('2026-Q4', 'tier', 'A')).toMatchObject({ renewed: 2, decided: 2, rate: 1 });
    expect(get('2027-Q1', 'owner', 'U3')).toMatchObject({ renewed: 0, decided: 1, rate: 0 });
    expect(rates.map((r) => r.quarter)).toEqual([...rates.map((r) => r.quarter)].sort());
  });
  it('counts churn reasons', () => {
    expect(churnReasonCounts(rows)).toEqual([
      { reason: 'competitor', count: 1 },
      { reason: 'price', count: 1 },
    ]);
  });
});

describe('alert stats', () => {
  it('precision = useful ÷ (useful + false alarm), per rule and overall', () => {
    const s = alertStats([
      { rule: 'red_band', raised: 10, acknowledged: 6, useful: 3, false_alarm: 1 },
      { rule: 'p_alive', raised: 4, acknowledged: 1, useful: 0, false_alarm: 2 },
    ]);
    expect(s.rules.find((r) => r.rule === 'red_band')!.precision).toBe(0.75);
    expect(s.rules.find((r) => r.rule === 'p_alive')!.precision).toBe(0);
    expect(s.rules.find((r) => r.rule === 'score_drop')).toMatchObject({ raised: 0, precision: null });
    expect(s.total).toMatchObject({ raised: 14, acknowledged: 7, useful: 3, false_alarm: 3, precision: 0.5 });
    expect(precision(0, 0)).toBeNull();
    const text = formatAlertStats(s);
    expect(text).toMatch(/red_band\s+10\s+6\s+3\s+1\s+75%/);
    expect(text).toMatch(/score_drop\s+0\s+0\s+0\s+0\s+–/);
  });
});

describe('local time', () => {
  it("gives the team's calendar date and hour", () => {
    expect(localParts(new Date('2026-11-24T23:30:00Z'), 'Asia/Shanghai')).toEqual({ date: '2026-11-25', hour: 7 });
    expect(localParts(new Date('2026-11-24T00:30:00Z'), 'America/Los_Angeles')).toEqual({ date: '2026-11-23', hour: 16 });
    expect(localDate(new Date('2026-11-24T00:00:00Z'), 'UTC')).toBe('2026-11-24');
  });
  it('does date arithmetic on plain dates', () => {
    expect(daysFrom('2026-11-24', '2027-02-22')).toBe(90);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addYear('2028-02-29')).toBe('2029-02-28');
    expect(addYear('2026-11-24')).toBe('2027-11-24');
    expect(quarterOf('2026-11-24')).toBe('2026-Q4');
    expect(quarterBounds('2026-11-24')).toEqual({ start: '2026-10-01', end: '2026-12-31' });
    expect(quarterBounds('2027-02-01')).toEqual({ start: '2027-01-01', end: '2027-03-31' });
  });
});
