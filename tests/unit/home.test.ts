import { describe, expect, it } from 'vitest';
import { homeView, welcomeView } from '../../src/home/home.blocks.js';
import { followUpOverdue, selectHomeSections, type HomeAccount } from '../../src/home/home.rules.js';
import { LIMITS } from '../../src/slack/blocks.js';
import { visibleText } from '../helpers/text.js';

const now = new Date('2026-11-24T10:00:00Z');
const cadence = { A: 30, B: 90, C: 180 };
const daysAgo = (n: number) => new Date(now.getTime() - n * 86_400_000);
const acct = (o: Partial<HomeAccount> & { name: string }): HomeAccount => ({
  id: o.name,
  status: 'active',
  arr: 1000,
  currency: 'USD',
  renewalDate: null,
  health: null,
  band: null,
  tier: null,
  lastTouchAt: null,
  ...o,
});

describe('follow-up cadence', () => {
  it('by tier; unscored accounts use the loosest; never touched is overdue', () => {
    expect(followUpOverdue({ tier: 'A', lastTouchAt: daysAgo(31) }, now, cadence)).toMatchObject({ overdue: true, daysSinceTouch: 31, cadenceDays: 30 });
    expect(followUpOverdue({ tier: 'A', lastTouchAt: daysAgo(30) }, now, cadence).overdue).toBe(false);
    expect(followUpOverdue({ tier: 'B', lastTouchAt: daysAgo(60) }, now, cadence).overdue).toBe(false);
    expect(followUpOverdue({ tier: null, lastTouchAt: daysAgo(170) }, now, cadence).overdue).toBe(false);
    expect(followUpOverdue({ tier: 'C', lastTouchAt: null }, now, cadence)).toMatchObject({ overdue: true, daysSinceTouch: null });
  });
});

describe('home sections', () => {
  const book = [
    acct({ name: 'Red', health: 20, band: 'red', tier: 'B', renewalDate: '2026-12-01', lastTouchAt: daysAgo(5) }),
    acct({ name: 'Yellow', health: 50, band: 'yellow', tier: 'A', renewalDate: '2026-11-30', lastTouchAt: daysAgo(45) }),
    acct({ name: 'Green', health: 90, band: 'green', tier: 'A', renewalDate: '2027-02-01', lastTouchAt: null }),
    acct({ name: 'Past', renewalDate: '2026-11-01', lastTouchAt: daysAgo(1) }),
    acct({ name: 'Edge', renewalDate: '2026-12-24', lastTouchAt: daysAgo(1) }),
  ];
  const s = selectHomeSections(book, now, cadence);

  it('at risk: red and yellow, riskiest first', () => {
    expect(s.atRisk.map((a) => a.name)).toEqual(['Red', 'Yellow']);
  });
  it('renewals: the next 30 days (inclusive), soonest first; past renewals are not due', () => {
    expect(s.renewals.map((a) => [a.name, a.daysToRenewal])).toEqual([
      ['Yellow', 6],
      ['Red', 7],
      ['Edge', 30],
    ]);
  });
  it('overdue: tier A first, never touched first within a tier', () => {
    expect(s.overdue.map((a) => a.name)).toEqual(['Green', 'Yellow']);
  });
});

describe('home view', () => {
  it('a huge book stays within 100 blocks and says how many more', () => {
    const big = Array.from({ length: 500 }, (_, i) => acct({ name: `<!channel> ${i}`, health: i % 40, band: 'red', tier: 'A', renewalDate: '2026-12-01' }));
    const disputes = Array.from({ length: 30 }, (_, i) => ({
      customerName: `D${i}`,
      claimantSlackId: 'U1',
      ownerSlackId: 'U2',
      openedAt: daysAgo(i),
      escalatedAt: null,
      role: 'owner' as const,
    }));
    const v = homeView({ slackUserId: 'U0ALICE', teamName: 'EMEA', sections: selectHomeSections(big, now, cadence), disputes, now });
    expect(v.type).toBe('home');
    expect(v.blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerView);
    for (const b of v.blocks as any[]) if (b.type === 'section') expect(b.text.text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    const text = visibleText(v.blocks);
    expect(text).toContain('…and 485 more');
    expect(text).not.toContain('<!channel>');
  });

  it('an empty book says so in each section', () => {
    const v = homeView({ slackUserId: 'U0ALICE', teamName: 'EMEA', sections: selectHomeSections([], now, cadence), disputes: [], now });
    const text = visibleText(v.blocks);
    expect(text).toContain('None of your accounts is red or yellow');
    expect(text).toContain('No renewals in the next 30 days');
    expect(text).toContain('No open disputes involve you');
  });

  it('welcomes strangers with how to be added', () => {
    expect(visibleText(welcomeView('U0NEW'))).toContain('retain member add U0NEW --team &lt;team&gt; --role rep');
  });
});
