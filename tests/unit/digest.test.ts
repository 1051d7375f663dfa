import { describe, expect, it } from 'vitest';
import { digestMessage } from '../../src/digest/digest.blocks.js';
import { buildDigest, digestDue, type DigestInput, type DigestSettings } from '../../src/digest/digest.rules.js';
import { fitRenewalModel } from '../../src/renewals/renewal-model.rules.js';
import { retentionRate } from '../../src/scoring/index.js';
import { LIMITS } from '../../src/slack/blocks.js';
import { mrkdwnText, visibleText } from '../helpers/text.js';

const NOW = new Date('2026-11-24T08:00:00Z');
const S: DigestSettings = { cap: 5, renewalWindowDays: 14, cadenceDaysA: 30, escalateAfterDays: 3, minMove: 10 };
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3600_000);
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
const ref = (i: number, name = `Customer ${i}`) => ({ customerId: String(i), name, ownerSlackId: 'U0ALICE', arr: 1000 * i, currency: 'USD' });

const empty: DigestInput = {
  now: NOW,
  localDate: '2026-11-24',
  scores: [],
  movers: [],
  renewals: [],
  tierA: [],
  disputes: [],
  unowned: [],
  unownedTotal: 0,
  feedback: [],
  decidedThisQuarter: [],
  quarter: '2026-Q4',
  failed: [],
};

describe('digest selection', () => {
  it('is quiet — one line — when nothing needs attention', () => {
    const m = buildDigest(empty, S);
    expect(m.quiet).toBe(true);
    const msg = digestMessage(m, { name: 'EMEA' });
    expect(msg.blocks).toHaveLength(1);
    expect(msg.text).toMatch(/nothing needs attention/);
    expect(visibleText(msg.blocks)).toMatch(/EMEA digest — Tue, Nov 24, 2026: nothing needs attention today/);
  });

  it('picks what turned red since yesterday, not what was already red or scored long ago', () => {
    const m = buildDigest(
      {
        ...empty,
        scores: [
          { ...ref(1, 'Newly Red'), health: 31, band: 'red', previousBand: 'yellow', previousHealth: 48, scoredAt: hoursAgo(3) },
          { ...ref(2, 'Still Red'), health: 20, band: 'red', previousBand: 'red', previousHealth: 22, scoredAt: hoursAgo(3) },
          { ...ref(3, 'Old News'), health: 30, band: 'red', previousBand: 'green', previousHealth: 71, scoredAt: daysAgo(3) },
        ],
      },
      S,
    );
    expect(m.turnedRed.items.map((c) => c.name)).toEqual(['Newly Red']);
    expect(m.quiet).toBe(false);
  });

  it('ranks movers by size of move, keeps those ≥ 10 points, with their trend', () => {
    const m = buildDigest(
      {
        ...empty,
        movers: [
          { ...ref(1, 'Up'), health: 80, baseline: 62, trend: [60, 62, 70, 80] },
          { ...ref(2, 'Down'), health: 40, baseline: 70, trend: [70, 65, 50, 40] },
          { ...ref(3, 'Flat'), health: 70, baseline: 66, trend: [66, 70] },
          { ...ref(4, 'New'), health: 70, baseline: null, trend: [70] },
        ],
      },
      S,
    );
    expect(m.movers.items.map((c) => [c.name, c.delta])).toEqual([
      ['Down', -30],
      ['Up', 18],
    ]);
    const blocks = visibleText(digestMessage(m, { name: 'EMEA' }).blocks);
    expect(blocks).toMatch(/[▁▂▃▄▅▆▇█]{4}/);
    expect(blocks).toContain('(-30)');
  });

  it('splits renewals into the next 14 days and those passed without an outcome', () => {
    const m = buildDigest(
      {
        ...empty,
        renewals: [
          { ...ref(1, 'Soon'), renewalDate: '2026-12-01', health: 55, band: 'yellow' },
          { ...ref(2, 'Today'), renewalDate: '2026-11-24', health: null, band: null },
          { ...ref(3, 'Later'), renewalDate: '2026-12-20', health: 80, band: 'green' },
          { ...ref(4, 'Missed'), renewalDate: '2026-11-20', health: 50, band: 'yellow' },
        ],
      },
      S,
    );
    expect(m.renewalsSoon.items.map((r) => [r.name, r.daysLeft])).toEqual([
      ['Today', 0],
      ['Soon', 7],
    ]);
    expect(m.passedNoOutcome.items.map((r) => [r.name, r.daysAgo])).toEqual([['Missed', 4]]);
  });

  it('lists tier-A accounts without a touch within their cadence, never-touched first', () => {
    const m = buildDigest(
      {
        ...empty,
        tierA: [
          { ...ref(1, 'Recent'), lastTouchAt: daysAgo(10) },
          { ...ref(2, 'Overdue'), lastTouchAt: daysAgo(45) },
          { ...ref(3, 'Never'), lastTouchAt: null },
        ],
      },
      S,
    );
    expect(m.overdueTierA.items.map((c) => [c.name, c.daysSinceTouch])).toEqual([
      ['Never', null],
      ['Overdue', 45],
    ]);
  });

  it('marks disputes open 3 days or more as escalated, first', () => {
    const m = buildDigest(
      {
        ...empty,
        disputes: [
          { disputeId: '1', customerName: 'Fresh', claimantSlackId: 'U0BOB', ownerSlackId: 'U0ALICE', openedAt: daysAgo(1), escalatedAt: null },
          { disputeId: '2', customerName: 'Stale', claimantSlackId: 'U0BOB', ownerSlackId: 'U0ALICE', openedAt: daysAgo(4), escalatedAt: null },
        ],
      },
      S,
    );
    expect(m.disputes.items.map((d) => [d.customerName, d.escalated])).toEqual([
      ['Stale', true],
      ['Fresh', false],
    ]);
    expect(visibleText(digestMessage(m, { name: 'EMEA' }).blocks)).toMatch(/🚨 \*escalated\* \*Stale\*/);
  });

  it('shows feedback since yesterday (complaints first), unowned accounts, failed notifications and the quarter’s renewal rate', () => {
    const m = buildDigest(
      {
        ...empty,
        feedback: [
          { customerName: 'A', kind: 'praise', text: 'love it', authorSlackId: 'U0BOB', createdAt: hoursAgo(2) },
          { customerName: 'B', kind: 'complaint', text: 'slow', authorSlackId: 'U0BOB', createdAt: hoursAgo(5) },
          { customerName: 'C', kind: 'complaint', text: 'old', authorSlackId: 'U0BOB', createdAt: daysAgo(2) },
        ],
        unowned: [ref(1, 'Small'), ref(9, 'Big')],
        unownedTotal: 12,
        failed: [{ id: '7', kind: 'churn_warning', channelId: 'C0GONE', reason: 'channel_not_found', at: hoursAgo(1) }],
        decidedThisQuarter: [
          { renewalDate: '2026-10-10', outcome: 'renewed', team: 'emea', owner: 'U1', tier: 'A' },
          { renewalDate: '2026-11-10', outcome: 'churned', team: 'emea', owner: 'U1', tier: 'A', churnReason: 'budget' },
        ],
      },
      S,
    );
    expect(m.feedback.items.map((f) => f.customerName)).toEqual(['B', 'A']);
    expect(m.unowned.items.map((c) => c.name)).toEqual(['Big', 'Small']);
    expect(m.unowned.more).toBe(10);
    const out = visibleText(digestMessage(m, { name: 'EMEA' }).blocks);
    expect(out).toContain('…and 10 more');
    expect(out).toContain('channel_not_found');
    expect(out).toMatch(/Renewal rate 2026-Q4: \*50%\* \(1 of 2 decided\) · churn reasons: Budget 1/);
  });

  it('caps each section with "and N more", within 3,000 characters per section and 50 blocks', () => {
    const long = 'x'.repeat(50);
    const many = Array.from({ length: 300 }, (_, i) => i + 1);
    const m = buildDigest(
      {
        ...empty,
        scores: many.map((i) => ({
          ...ref(i, `${long}${i} <!channel>`),
          health: 20,
          band: 'red' as const,
          previousBand: 'yellow' as const,
          previousHealth: 50,
          scoredAt: hoursAgo(1),
        })),
        movers: many.map((i) => ({ ...ref(i), health: 20, baseline: 90, trend: [90, 80, 60, 20] })),
        renewals: many.map((i) => ({ ...ref(i), renewalDate: '2026-11-30', health: 50, band: 'yellow' as const })),
        tierA: many.map((i) => ({ ...ref(i), lastTouchAt: null })),
        unowned: many.map((i) => ref(i)),
        unownedTotal: 300,
        feedback: many.map((i) => ({
          customerName: `C${i}`,
          kind: 'complaint' as const,
          text: 'y'.repeat(5000),
          authorSlackId: 'U0BOB',
          createdAt: hoursAgo(1),
        })),
        failed: many.map((i) => ({ id: String(i), kind: 'digest', channelId: 'C0X', reason: 'is_archived', at: hoursAgo(1) })),
      },
      { ...S, cap: 20 },
    );
    expect(m.turnedRed.items).toHaveLength(20);
    expect(m.turnedRed.more).toBe(280);
    const msg = digestMessage(m, { name: 'EMEA' });
    expect(msg.blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
    for (const b of msg.blocks as any[]) if (b.type === 'section') expect(Array.from(b.text.text as string).length).toBeLessThanOrEqual(LIMITS.sectionText);
    const tables = (msg.blocks as any[]).filter((b) => b.type === 'table');
    expect(tables).toHaveLength(1); // Slack shows one table per message
    expect(tables[0].rows.length).toBeLessThanOrEqual(LIMITS.tableRows);
    for (const row of tables[0].rows) expect(row.length).toBeLessThanOrEqual(LIMITS.tableCells);
    const out = visibleText(msg.blocks);
    expect(out).toMatch(/…and 2\d\d more/);
    // Names in table cells are raw text, which Slack never parses; everything it parses is escaped.
    expect(mrkdwnText(msg.blocks)).not.toContain('<!channel>');
    expect(msg.text).not.toContain('<!channel>');
    expect(msg.text).toContain('&lt;!channel&gt;');
    expect(Array.from(msg.text).length).toBeLessThanOrEqual(LIMITS.fallbackText);
  });

  it('forecasts the quarter’s open renewals in one line: expected renewal rate and ARR at risk with its interval', () => {
    // A renewal model from a cohort of 100: 30 churned in year 1, 14 in year 2, 56 still active.
    const model = fitRenewalModel(
      [
        { segment: 'pro', periods: 1, churned: true, n: 30 },
        { segment: 'pro', periods: 2, churned: true, n: 14 },
        { segment: 'pro', periods: 2, churned: false, n: 56 },
      ],
      { kind: 'sbg', by: 'plan', discountRate: 0.1 },
    );
    const open = [
      {
        customerId: '1',
        arr: 50_000,
        renewalDate: '2026-12-10',
        startedAt: new Date('2024-12-10T00:00:00Z'),
        plan: 'pro',
        tier: 'A',
        team: 'emea',
        churnProbability: null,
      },
      {
        customerId: '2',
        arr: 10_000,
        renewalDate: '2026-12-20',
        startedAt: new Date('2025-12-20T00:00:00Z'),
        plan: 'pro',
        tier: 'C',
        team: 'emea',
        churnProbability: null,
      },
    ];
    const settings = { ...S, renewalForecast: { healthWeight: 0.5, level: 0.8 } };
    const m = buildDigest({ ...empty, renewalOutlook: { model, open } }, settings);
    const p = { alpha: model.pooled.alpha!, beta: model.pooled.beta! };
    const rate = (retentionRate(p, 2) + retentionRate(p, 1)) / 2;
    expect(m.renewalForecast!.expectedRate!).toBeCloseTo(rate, 10);
    expect(m.renewalForecast!.arrAtRisk).toBeCloseTo(50_000 * (1 - retentionRate(p, 2)) + 10_000 * (1 - retentionRate(p, 1)), 6);
    const line = visibleText(digestMessage(m, { name: 'EMEA' }).blocks);
    expect(line).toMatch(/Renewal forecast 2026-Q4: \*\d+(\.\d)?%\* expected to renew \(2 open\) · ARR at risk \$[\d.]+K \(80%: \$[\d.,K]+–\$[\d.]+K\)/);
    // No renewal model and no chance of churn: no line.
    expect(buildDigest({ ...empty, renewalOutlook: { model: null, open } }, settings).renewalForecast).toBeNull();
    expect(visibleText(digestMessage(buildDigest(empty, S), { name: 'EMEA' }).blocks)).not.toContain('Renewal forecast');
  });

  it('a missed digest is due from the team hour for a few hours', () => {
    expect(digestDue(9, 9, 3)).toBe(true);
    expect(digestDue(11, 9, 3)).toBe(true);
    expect(digestDue(12, 9, 3)).toBe(false);
    expect(digestDue(8, 9, 3)).toBe(false);
  });
});
