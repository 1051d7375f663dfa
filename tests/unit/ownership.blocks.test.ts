import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mineReply, MINE_PAGE_SIZE } from '../../src/ownership/book.blocks.js';
import { otherTeamClaimReply } from '../../src/ownership/claim.blocks.js';
import { decidedDisputeMessage, disputePostMessage, type DisputePost } from '../../src/ownership/dispute.blocks.js';
import { historyReply, HISTORY_MAX_EVENTS, type HistoryItem } from '../../src/ownership/history.blocks.js';
import { notMemberReply } from '../../src/ownership/ownership.blocks.js';
import { LIMITS } from '../../src/slack/blocks.js';
import { ACTIONS } from '../../src/slack/ids.js';
import { mrkdwnText, visibleText } from '../helpers/text.js';

const now = new Date('2026-11-24T10:00:00Z');
const EVIL = '<!channel> Evil & Co <@U999> <https://x.example|click>';

function expectWithinLimits(blocks: any[], max: number = LIMITS.blocksPerMessage) {
  expect(blocks.length).toBeLessThanOrEqual(max);
  for (const b of blocks) {
    if (b.type === 'section' && b.text) expect(Array.from(b.text.text as string).length).toBeLessThanOrEqual(LIMITS.sectionText);
    if (b.type === 'header') expect(Array.from(b.text.text as string).length).toBeLessThanOrEqual(LIMITS.headerText);
    if (b.fields) expect(b.fields.length).toBeLessThanOrEqual(LIMITS.fieldsPerSection);
  }
}

const post = (o: Partial<DisputePost> = {}): DisputePost => ({
  disputeId: '42',
  customerId: '7',
  customerName: EVIL,
  arr: 120000,
  currency: 'USD',
  renewalDate: '2027-01-10',
  teamName: 'EMEA <b>',
  claimantSlackId: 'U0ALICE',
  ownerSlackId: 'U0BOB',
  ownerSince: new Date('2025-01-01T00:00:00Z'),
  reason: '<!here> I ran their QBR & renewal',
  because: 'owned',
  openedAt: now,
  freezeDays: 30,
  escalateAfterDays: 3,
  evidenceDays: 90,
  claimantEvidence: { slackUserId: 'U0ALICE', total: 3, byKind: { call: 2, meeting: 1 }, last: new Date('2026-11-20T00:00:00Z') },
  ownerEvidence: { slackUserId: 'U0BOB', total: 0, byKind: {}, last: null },
  ownerLastTouch: null,
  ...o,
});

describe('dispute post', () => {
  it('shows the evidence and Approve / Reject for managers', () => {
    const m = disputePostMessage(post(), { now });
    const all = visibleText(m.blocks);
    expect(all).toContain('<@U0ALICE> claims');
    expect(all).toContain('owned by <@U0BOB> since Jan 1, 2025');
    expect(all).toContain('<@U0ALICE>: 3 touches (2 calls, 1 meeting), last 4 days ago');
    expect(all).toContain('<@U0BOB>: no logged touches');
    expect(all).toContain('$120');
    expect(all).toContain('Jan 10, 2027 (in 47 days)');
    expect(all).toContain('_never logged_');
    const buttons = (m.blocks as any[]).find((b) => b.type === 'actions').elements;
    expect(buttons.map((b: any) => [b.action_id, b.value])).toEqual([
      [ACTIONS.approveDispute, '42'],
      [ACTIONS.rejectDispute, '42'],
    ]);
    expectWithinLimits(m.blocks);
  });

  it('keeps customer names, team names and reasons inert', () => {
    const m = disputePostMessage(post(), { now });
    const md = mrkdwnText(m.blocks);
    expect(md).not.toContain('<!channel>');
    expect(md).not.toContain('<!here>');
    expect(md).not.toContain('<@U999>');
    expect(md).not.toContain('<https://x.example');
    expect(md).toContain('&lt;!channel&gt; Evil &amp; Co');
    expect((m.blocks[0] as any).text.type).toBe('plain_text');
  });

  it('an escalated re-post says so; a decided one loses its buttons', () => {
    const esc = disputePostMessage(post({ openedAt: new Date('2026-11-21T10:00:00Z') }), { now, escalated: true });
    expect((esc.blocks[0] as any).text.text).toMatch(/^⏰ Still undecided/);
    expect(visibleText(esc.blocks)).toContain('escalated');
    const done = decidedDisputeMessage(esc, {
      status: 'approved',
      bySlackId: 'U0M',
      claimantSlackId: 'U0ALICE',
      ownerSlackId: 'U0BOB',
      customerName: EVIL,
      at: now,
    });
    expect((done.blocks as any[]).some((b) => b.type === 'actions')).toBe(false);
    expect(visibleText(done.blocks)).toContain('*Approved* by <@U0M>');
    expect(mrkdwnText(done.blocks)).not.toContain('<!channel>');
  });

  it('a freeze dispute on an unowned account says so', () => {
    const m = disputePostMessage(post({ because: 'freeze', ownerSlackId: null, ownerEvidence: null }), { now });
    const all = visibleText(m.blocks);
    expect(all).toContain('unowned but inside the 30-day renewal freeze');
    expect(all).toContain('Reject: leave it unowned');
  });

  it('stays within limits whatever the name and reason (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.option(fc.string({ maxLength: 4000 }), { nil: null }), (name, reason) => {
        const m = disputePostMessage(post({ customerName: name || 'x', reason }), { now });
        expectWithinLimits(m.blocks);
        expect(Array.from(m.text).length).toBeLessThanOrEqual(300);
      }),
      { numRuns: 100 },
    );
  });
});

describe('history', () => {
  const event = (i: number, reason: string | null = null): HistoryItem => ({
    kind: i % 2 ? 'assign' : 'claim',
    fromSlackId: i ? `U${i - 1}AA` : null,
    toSlackId: `U${i}AA`,
    actorSlackId: 'U0MANAGER',
    reason,
    at: new Date(now.getTime() - i * 86_400_000),
  });

  it('lists who, from, to, why and when', () => {
    const r = historyReply('Acme', [event(1, 'covering <!here>'), event(0)], 2);
    const all = visibleText(r.blocks);
    expect(all).toContain('Nov 23, 2026');
    expect(all).toContain('assigned: <@U0AA> → <@U1AA> · by <@U0MANAGER> · “covering &lt;!here&gt;”');
    expect(all).toContain('claimed: _nobody_ → <@U0AA>');
    expect(all.indexOf('assigned')).toBeLessThan(all.indexOf('claimed'));
  });

  it('caps a long history within Block Kit limits and says how many are left out', () => {
    const events = Array.from({ length: HISTORY_MAX_EVENTS }, (_, i) => event(i, 'x'.repeat(3_000)));
    const r = historyReply(EVIL, events, 500);
    expectWithinLimits(r.blocks);
    expect(visibleText(r.blocks)).toContain(`…and ${500 - HISTORY_MAX_EVENTS} older events not shown`);
    expect(mrkdwnText(r.blocks)).not.toContain('<!channel>');
  });

  it('says when there is no history', () => {
    expect(visibleText(historyReply('Acme', [], 0).blocks)).toContain('No ownership changes');
  });
});

describe('mine', () => {
  const line = (i: number) => ({
    id: String(i),
    name: i === 0 ? EVIL : `Account ${i} ${'long name '.repeat(30)}`,
    arr: 1000 * i,
    currency: 'USD',
    renewalDate: i % 2 ? '2027-01-01' : null,
    health: i < 15 ? 10 + i : null,
    band: i < 15 ? ((10 + i < 40 ? 'red' : 'yellow') as 'red' | 'yellow') : null,
    tier: 'A' as const,
    lastTouch: i % 3 ? { kind: 'call', at: new Date('2026-11-01T00:00:00Z') } : null,
  });

  it('one page fits in a message: a table of the accounts, a menu that opens each, and the next page named', () => {
    const accounts = Array.from({ length: MINE_PAGE_SIZE }, (_, i) => line(i));
    const r = mineReply({ accounts, total: 95, page: 1, pages: 5, outOfRange: false, now });
    expectWithinLimits(r.blocks);
    const table = (r.blocks as any[]).find((b) => b.type === 'table');
    expect(table.rows).toHaveLength(MINE_PAGE_SIZE + 1);
    const rows = visibleText([table]).split('\n');
    expect(rows[0]).toBe('Health | Account | Tier | ARR | Renewal | Last touch');
    expect(rows[1]!.startsWith(`🔴 10 red | ${EVIL} | A | `)).toBe(true);
    expect(rows[16]).toContain('not scored');
    expect(rows[2]).toMatch(/\| call 23 days ago$/);
    const menu = (r.blocks as any[]).find((b) => b.type === 'actions').elements[0];
    expect(menu).toMatchObject({ type: 'static_select', action_id: ACTIONS.openCardMenu });
    expect(menu.options).toHaveLength(MINE_PAGE_SIZE);
    expect(menu.options[0].value).toBe('0');
    expect(visibleText(r.blocks)).toContain('`/customer mine 2`');
    // A table cell is raw text, never parsed: a customer named <!channel> pings nobody.
    expect(mrkdwnText(r.blocks)).not.toContain('<!channel>');
    expect(r.text).toContain('Your accounts, page 1 of 5:');
    expect(r.text).toContain('🔴 10 red · &lt;!channel&gt;');
    expect(r.text).not.toContain('<!channel>');
  });
});

describe('replies', () => {
  it('tells a stranger the exact command an admin runs', () => {
    expect(visibleText(notMemberReply('U0NEW').blocks)).toContain('retain member add U0NEW --team &lt;team&gt; --role rep');
    expect(visibleText(notMemberReply('<!channel>').blocks)).not.toContain('<!channel>');
  });

  it('a refusal names who can do it', () => {
    const r = otherTeamClaimReply('Acme', 'APAC', ['U0LEAD']);
    const all = visibleText(r.blocks);
    expect(all).toContain('belongs to team *APAC*');
    expect(all).toContain('a manager of APAC (<@U0LEAD>) or an admin');
  });
});
