import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseReply, customerCard, notFoundReply } from '../../src/customers/card.blocks.js';
import { invalidReply } from '../../src/slack/replies.js';
import type { CardData } from '../../src/customers/customer.repository.js';
import { blocksToText, capBlocks, LIMITS, section } from '../../src/slack/blocks.js';
import { escapeMrkdwn, safeText } from '../../src/slack/escape.js';
import { mrkdwnText } from '../helpers/text.js';

const now = new Date('2026-11-24T12:00:00Z');

function card(over: Partial<CardData> = {}): CardData {
  return {
    id: '1',
    externalId: 'C1',
    name: 'Acme Corp',
    domain: 'acme.com',
    plan: 'pro',
    arr: 120000,
    currency: 'USD',
    renewalDate: '2027-03-01',
    status: 'active',
    ownerSlackId: 'U0ALICE',
    ownerSince: new Date('2026-01-05T00:00:00Z'),
    teamName: 'EMEA',
    teamKey: 'emea',
    score: {
      health: 34,
      band: 'red',
      tier: 'A',
      segment: 'At risk',
      pAlive: 0.21,
      clv: 54000,
      expectedOrders90d: 0.4,
      drivers: [{ key: 'engagement', direction: 'down', impact: -12, text: 'usage down 42% vs the previous 60 days' }],
      measures: [{ key: 'engagement', score: 20, weight: 0.25 }],
      stale: ['no usage data for 5 days (used to arrive daily)'],
      scoredAt: new Date('2026-11-24T10:00:00Z'),
      newestDataAt: new Date('2026-11-23T10:00:00Z'),
      previousHealth: 51,
    },
    history: [70, 65, 60, 51, 34],
    lastInteraction: { kind: 'call', note: 'talked renewal', occurredAt: new Date('2026-11-01T00:00:00Z'), authorSlackId: 'U0ALICE' },
    latestFeedback: { kind: 'complaint', text: 'exports time out', createdAt: new Date('2026-11-20T00:00:00Z'), authorSlackId: 'U0BOB' },
    lastOwnershipEvent: { kind: 'claim', fromSlackId: 'U0BOB', createdAt: new Date('2026-01-05T00:00:00Z') },
    ...over,
  };
}

describe('escaping', () => {
  it('escapes &, < and >', () => {
    expect(escapeMrkdwn('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });
  it('safeText never cuts an escape in half and stays within the limit', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 2, max: 50 }), (s, max) => {
        const out = safeText(s, max);
        expect(Array.from(out).length).toBeLessThanOrEqual(max);
        expect(out).not.toMatch(/&(a|am|l|g|lt|gt)?$/);
      }),
    );
  });
});

describe('lookup card', () => {
  it('shows health, band, trend, drivers, stale sources, owner and renewal', () => {
    const reply = customerCard(card(), { now, trend: '▇▆▅▄▂' });
    const text = blocksToText(reply);
    expect(text).toContain('Health 34 (-17) · red');
    expect(text).toContain('▇▆▅▄▂');
    expect(text).toContain('usage down 42% vs the previous 60 days');
    expect(text).toContain('no usage data for 5 days');
    expect(text).toContain('Owner: @U0ALICE, since Jan 5, 2026, from @U0BOB');
    expect(text).toContain('Renewal: Mar 1, 2027, in 97 days');
    expect(text).toContain('Tier · segment: A · At risk');
    expect(text).toContain('P(alive) 0.21');
    expect(text).toContain('newest data 26h ago');
    expect(reply.responseType).toBe('ephemeral');
  });

  it('keeps a hostile customer name and notes inert', () => {
    const evil = '<!channel> <@U999> <https://evil|click> &';
    const reply = customerCard(
      card({
        name: evil,
        domain: evil,
        plan: evil,
        lastInteraction: { kind: 'note', note: evil, occurredAt: now, authorSlackId: 'U0ALICE' },
        latestFeedback: { kind: 'complaint', text: evil, createdAt: now, authorSlackId: 'U1' },
      }),
      { now, trend: '' },
    );
    const md = mrkdwnText(reply.blocks);
    expect(md).not.toContain('<!channel>');
    expect(md).not.toContain('<@U999>');
    expect(md).not.toContain('<https://evil');
    expect(reply.text).not.toContain('<!channel>');
  });

  it('stays within Block Kit limits for any name, note and feedback', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 5000 }), fc.string({ maxLength: 5000 }), (name, note) => {
        const reply = customerCard(
          card({
            name: name || 'x',
            lastInteraction: { kind: 'note', note, occurredAt: now, authorSlackId: 'U1' },
            latestFeedback: { kind: 'praise', text: note, createdAt: now, authorSlackId: 'U1' },
          }),
          { now, trend: '▁▂▃' },
        );
        expect(reply.blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerMessage);
        for (const b of reply.blocks as any[]) {
          if (b.type === 'header') expect(Array.from(b.text.text as string).length).toBeLessThanOrEqual(LIMITS.headerText);
          if (b.type === 'section' && b.text) expect(Array.from(b.text.text as string).length).toBeLessThanOrEqual(LIMITS.sectionText);
          if (b.fields) {
            expect(b.fields.length).toBeLessThanOrEqual(LIMITS.fieldsPerSection);
            for (const f of b.fields) expect(Array.from(f.text as string).length).toBeLessThanOrEqual(LIMITS.fieldText);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('says when a customer is not scored yet, and when it is unowned', () => {
    const text = blocksToText(customerCard(card({ score: null, ownerSlackId: null, ownerSince: null }), { now, trend: '' }));
    expect(text).toContain('Not scored yet');
    expect(text).toContain('unowned');
  });

  it('says a score being computed is on its way, never that it waits for the next scheduled run', () => {
    const unscored = (scoring: 'scoring' | 'waiting' | 'current') => blocksToText(customerCard({ ...card({ score: null }), scoring }, { now, trend: '' }));
    expect(unscored('scoring')).toMatch(/Not scored yet\..*⏳ Scoring now — back in a few seconds/);
    expect(unscored('waiting')).toMatch(/scored as soon as a worker runs/);
    expect(unscored('current')).toMatch(/no signals, feedback or logged touches to score yet/);
    for (const s of ['scoring', 'waiting', 'current'] as const) expect(unscored(s)).not.toMatch(/next scoring run/);
    // A scored customer with newer data keeps its score on the card, and says the new one is coming.
    const behind = blocksToText(customerCard({ ...card(), scoring: 'scoring' }, { now, trend: '' }));
    expect(behind).toMatch(/Health 34/);
    expect(behind).toMatch(/New data since this score — rescoring now/);
    expect(blocksToText(customerCard({ ...card(), scoring: 'current' }, { now, trend: '' }))).not.toMatch(/rescoring now/);
  });
});

describe('choice and not-found replies', () => {
  it('offers at most 5 buttons with the match names', () => {
    const matches = Array.from({ length: 8 }, (_, i) => ({ id: String(i), name: `Acme ${i}`, domain: null, externalId: `C${i}`, score: 0.9 }));
    const reply = chooseReply('acme', matches);
    const actions = reply.blocks.find((b) => b.type === 'actions') as any;
    expect(actions.elements).toHaveLength(5);
    expect(actions.elements[0].value).toBe('0');
  });
  it('escapes the query it echoes', () => {
    const reply = notFoundReply('<!here>', []);
    expect(mrkdwnText(reply.blocks)).not.toContain('<!here>');
  });
  it('shows the right form for bad input', () => {
    expect(blocksToText(invalidReply('Which customer?', '/customer claim <customer>'))).toContain('Usage: /customer claim <customer>');
  });
  it('caps a long message at 50 blocks, saying how many were left out', () => {
    const blocks = capBlocks(Array.from({ length: 80 }, (_, i) => section(`row ${i}`)));
    expect(blocks).toHaveLength(50);
    expect(blocksToText({ text: '', blocks })).toContain('31 more');
  });
});
