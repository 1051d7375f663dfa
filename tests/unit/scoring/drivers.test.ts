import { describe, expect, it } from 'vitest';
import { measuresToExclude, staleSources, typicalGapDays } from '../../../src/scoring/drivers.js';
import { scoreHealth, type HealthInput, type MeasureKey } from '../../../src/scoring/scorecard.js';

const textOf = (input: HealthInput, key: MeasureKey): string => scoreHealth(input).measures.find((m) => m.key === key)!.text;

describe('driver sentences', () => {
  it('say what a rep needs, with the numbers in them', () => {
    // Daily rate 29/30 vs 100/60: down 42%.
    expect(textOf({ usageLast30: 29, usagePrev60: 100 }, 'engagement')).toBe('usage down 42% vs the previous 60 days');
    expect(textOf({ usageLast30: 80, usagePrev60: 120 }, 'engagement')).toBe('usage up 33% vs the previous 60 days');
    expect(textOf({ usageLast30: 0, usagePrev60: 0 }, 'engagement')).toBe('no usage in 90 days');
    expect(textOf({ usageLast30: 0, usagePrev60: 240 }, 'engagement')).toBe('no usage in the last 30 days, after 240 in the previous 60');
    expect(textOf({ usageLast30: 5, usagePrev60: 0 }, 'engagement')).toBe('usage started in the last 30 days (none in the previous 60)');
    expect(textOf({ complaintAgesDays: [2, 10, 25] }, 'complaints')).toBe('3 complaints in 30 days');
    expect(textOf({ complaintAgesDays: [5] }, 'complaints')).toBe('1 complaint in 30 days');
    expect(textOf({ complaintAgesDays: [5, 40, 80] }, 'complaints')).toBe('3 complaints in 90 days, 1 in the last 30');
    expect(textOf({ complaintAgesDays: [40, 80] }, 'complaints')).toBe('2 complaints in 90 days (none in the last 30)');
    expect(textOf({ daysSinceLastTouch: 75, tier: 'A' }, 'cadence')).toBe('no touch in 75 days; tier A expects one every 30');
    expect(textOf({ daysSinceLastTouch: null, tier: 'B' }, 'cadence')).toBe('never touched; tier B expects one every 90');
    expect(textOf({ daysSinceLastTouch: 3, tier: 'C' }, 'cadence')).toBe('touched 3 days ago; tier C expects one every 180');
    expect(textOf({ paymentFailures90d: 2 }, 'payments')).toBe('2 failed payments in 90 days');
    expect(textOf({ paymentFailures90d: 1 }, 'payments')).toBe('1 failed payment in 90 days');
    expect(textOf({ latestNps: 3 }, 'nps')).toBe('NPS 3 (detractor)');
    expect(textOf({ latestNps: 7 }, 'nps')).toBe('NPS 7 (passive)');
    expect(textOf({ latestNps: 10 }, 'nps')).toBe('NPS 10 (promoter)');
    expect(textOf({ pAlive: 0.2134 }, 'purchase')).toBe('P(alive) 0.21 — orders have stopped');
    expect(textOf({ pAlive: 0.42 }, 'purchase')).toBe('P(alive) 0.42 — orders are slowing');
    expect(textOf({ pAlive: 0.93 }, 'purchase')).toBe('P(alive) 0.93 — still ordering');
    expect(textOf({ sentimentMean: -0.6, sentimentCount: 5, sentimentNegativeCount: 4 }, 'sentiment')).toBe('feedback mostly negative (4 of 5)');
    expect(textOf({ sentimentMean: 0.5, sentimentCount: 4, sentimentPositiveCount: 3 }, 'sentiment')).toBe('feedback mostly positive (3 of 4)');
    expect(textOf({ sentimentMean: -0.25, sentimentCount: 4 }, 'sentiment')).toBe('feedback leaning negative (average -0.3 over 4 items)');
  });
});

describe('top drivers', () => {
  it('are the three measures that moved the score most, biggest first', () => {
    const score = scoreHealth({
      usageLast30: 29,
      usagePrev60: 100,
      pAlive: 0.21,
      complaintAgesDays: [2, 10, 25],
      sentimentMean: -0.6,
      sentimentCount: 5,
      sentimentNegativeCount: 4,
      daysSinceLastTouch: 75,
      tier: 'A',
      paymentFailures90d: 2,
      latestNps: 3,
      latestNpsAgeDays: 12,
    });
    expect(score.health).toBe(28);
    expect(score.band).toBe('red');
    expect(score.drivers.map((d) => [d.key, d.direction, d.text])).toEqual([
      ['complaints', 'down', '3 complaints in 30 days'],
      ['cadence', 'down', 'no touch in 75 days; tier A expects one every 30'],
      ['engagement', 'down', 'usage down 42% vs the previous 60 days'],
    ]);
    // impact = renormalised weight × (score − neutral), in health points
    expect(score.drivers[1]!.impact).toBeCloseTo(0.15 * (25 - 100), 10);
    expect(score.drivers[2]!.impact).toBeCloseTo(0.25 * (80 * 0.58 - 80), 10);
  });

  it('name what lifts a healthy account, and leave ordinary measures out', () => {
    const score = scoreHealth({
      usageLast30: 90,
      usagePrev60: 120, // +50%
      pAlive: 0.95,
      complaintAgesDays: [],
      daysSinceLastTouch: 5,
      tier: 'A',
      paymentFailures90d: 0,
      latestNps: 10,
    });
    expect(score.band).toBe('green');
    expect(score.drivers.map((d) => [d.direction, d.text])).toEqual([
      ['up', 'P(alive) 0.95 — still ordering'],
      ['up', 'usage up 50% vs the previous 60 days'],
      ['up', 'NPS 10 (promoter)'],
    ]);
  });

  it('are empty when nothing is out of the ordinary', () => {
    const score = scoreHealth({ complaintAgesDays: [], paymentFailures90d: 0, daysSinceLastTouch: 3, tier: 'A' });
    expect(score.drivers).toEqual([]);
  });
});

describe('stale sources', () => {
  const now = new Date('2024-06-10T12:00:00Z');
  const daysAgo = (d: number): Date => new Date(now.getTime() - d * 86_400_000);

  it('flags a kind that used to arrive and has been silent for 3 days or more', () => {
    const stale = staleSources(
      { usage: daysAgo(5), order: daysAgo(10), complaint: daysAgo(2), nps: null, ticket: daysAgo(30) },
      { usage: 1, order: 14, complaint: 0.5, nps: 30 },
      now,
    );
    expect(stale).toEqual([{ kind: 'usage', daysSilent: 5, typicalGapDays: 1, text: 'no usage data for 5 days (used to arrive daily)' }]);
    expect([...measuresToExclude(stale)]).toEqual(['engagement']);
  });

  it('waits several typical gaps for sparse sources, and describes the cadence', () => {
    const stale = staleSources({ order: daysAgo(45), usage: daysAgo(3) }, { order: 7, usage: 1 }, now);
    expect(stale.map((s) => s.text)).toEqual(['no orders for 45 days (used to arrive weekly)', 'no usage data for 3 days (used to arrive daily)']);
    expect(staleSources({ order: daysAgo(20) }, { order: 7 }, now)).toEqual([]);
    expect(staleSources({ usage: daysAgo(2) }, { usage: 1 }, now, { staleAfterDays: 2, gapMultiple: 2 })).toHaveLength(1);
    expect(staleSources({ crm: daysAgo(40) }, { crm: 10 }, now)[0]!.text).toBe('no crm signals for 40 days (used to arrive every 10 days)');
  });

  it('derives the typical gap from arrival times (median gap between distinct days)', () => {
    expect(typicalGapDays([daysAgo(1), daysAgo(2), daysAgo(3), daysAgo(3), daysAgo(10)])).toBe(1);
    expect(typicalGapDays([daysAgo(1)])).toBeNull();
  });
});
