import { describe, expect, it } from 'vitest';
import { complaintAlertNotice, feedbackRecordedReply, formatSentiment, interactionLoggedReply } from '../../src/feedback/feedback.blocks.js';
import { customerOptions, decodeMeta, encodeMeta, feedbackModal, MAX_INPUT, readSubmission } from '../../src/feedback/shortcut.view.js';
import { ACTIONS, BLOCKS, VIEWS } from '../../src/slack/ids.js';
import { mrkdwnText } from '../helpers/text.js';

const EVIL = '<!channel> Evil & Co';

describe('feedback replies', () => {
  it('confirm the kind and sentiment, and who was alerted; user text stays inert', () => {
    const r = feedbackRecordedReply({
      customerName: EVIL,
      kind: 'complaint',
      kindSource: 'auto',
      sentiment: -0.8,
      text: '<!here> broken',
      alerted: { channel: 'U0BOB', ownerSlackId: 'U0BOB' },
    });
    const md = mrkdwnText(r.blocks);
    expect(md).toContain('Logged a *complaint* for *&lt;!channel&gt; Evil &amp; Co* (sentiment −0.80)');
    expect(md).toContain('&lt;!here&gt; broken');
    expect(md).toContain('its owner <@U0BOB> has been alerted');
    expect(md).toContain('#complaint #praise #suggestion #question');
    expect(md).not.toContain('<!channel>');
    expect(md).not.toContain('<!here>');
    expect(r.responseType).toBe('ephemeral');
  });

  it('a tagged kind does not suggest re-tagging', () => {
    const r = feedbackRecordedReply({ customerName: 'Acme', kind: 'praise', kindSource: 'tag', sentiment: 0.5, text: 'yay', alerted: null });
    expect(mrkdwnText(r.blocks)).not.toContain('Wrong?');
  });

  it('the tier-A alert names the account, the author and the owner, and links only https permalinks', () => {
    const n = complaintAlertNotice({
      customerId: '1',
      customerName: EVIL,
      text: 'slow <@U1>',
      authorSlackId: 'U0ALICE',
      ownerSlackId: 'U0BOB',
      health: 35,
      band: 'red',
      permalink: 'javascript:alert(1)',
    });
    const md = mrkdwnText(n.blocks);
    expect(md).toContain('<@U0BOB>, complaint on tier-A account *&lt;!channel&gt; Evil &amp; Co*, logged by <@U0ALICE>');
    expect(md).toContain('🔴 health 35 (red)');
    expect(md).not.toContain('javascript:');
    expect(md).not.toContain('<!channel>');
    expect(md).not.toContain('<@U1>');
    const linked = complaintAlertNotice({
      customerId: '1',
      customerName: 'Acme',
      text: 'x',
      authorSlackId: 'U0ALICE',
      ownerSlackId: null,
      health: null,
      band: null,
      permalink: 'https://t.slack.com/archives/C1/p1',
    });
    expect(mrkdwnText(linked.blocks)).toContain('<https://t.slack.com/archives/C1/p1|original message>');
  });

  it('formats sentiment with a sign', () => {
    expect(formatSentiment(0.5)).toBe('+0.50');
    expect(formatSentiment(-0.25)).toBe('−0.25');
    expect(formatSentiment(0)).toBe('±0.00');
  });

  it('confirms a logged touch', () => {
    expect(mrkdwnText(interactionLoggedReply({ customerName: 'Acme', kind: 'qbr', note: 'went well <!here>' }).blocks)).toContain('Logged a *qbr* with *Acme*');
  });
});

describe('feedback modal', () => {
  const view = feedbackModal({ text: 'x'.repeat(5000), channel: 'C0SUP', ts: '1.2', authorSlackId: 'U0CUST', suggested: 'question' }) as any;

  it('has the ids the listeners expect, the suggested kind preselected, and the text within the input limit', () => {
    expect(view.callback_id).toBe(VIEWS.feedbackModal);
    expect(view.title.text.length).toBeLessThanOrEqual(24);
    const byId = Object.fromEntries(view.blocks.filter((b: any) => b.block_id).map((b: any) => [b.block_id, b]));
    expect(byId[BLOCKS.feedbackCustomer].element).toMatchObject({ type: 'external_select', action_id: ACTIONS.feedbackCustomer, min_query_length: 1 });
    expect(byId[BLOCKS.feedbackKind].element.initial_option.value).toBe('question');
    expect(byId[BLOCKS.feedbackKind].element.options.map((o: any) => o.value)).toEqual(['complaint', 'praise', 'suggestion', 'question']);
    expect(Array.from(byId[BLOCKS.feedbackText].element.initial_value as string).length).toBeLessThanOrEqual(MAX_INPUT);
    expect(decodeMeta(view.private_metadata)).toEqual({ c: 'C0SUP', t: '1.2', k: 'question' });
    expect(view.private_metadata.length).toBeLessThanOrEqual(3000);
  });

  it('reads a submission and rejects junk', () => {
    const values = {
      [BLOCKS.feedbackCustomer]: { [ACTIONS.feedbackCustomer]: { selected_option: { value: '42' } } },
      [BLOCKS.feedbackKind]: { [ACTIONS.feedbackKind]: { selected_option: { value: 'praise' } } },
      [BLOCKS.feedbackText]: { [ACTIONS.feedbackText]: { value: '  nice  ' } },
    };
    expect(readSubmission(values)).toEqual({ customerId: '42', kind: 'praise', text: 'nice' });
    expect(readSubmission({})).toEqual({ customerId: null, kind: null, text: '' });
    expect(
      readSubmission({ [BLOCKS.feedbackCustomer]: { [ACTIONS.feedbackCustomer]: { selected_option: { value: '1; drop table' } } } }).customerId,
    ).toBeNull();
    expect(decodeMeta('not json')).toBeNull();
    expect(decodeMeta(encodeMeta({ c: 'C', t: '1', k: 'praise' }))).toEqual({ c: 'C', t: '1', k: 'praise' });
    expect(decodeMeta(JSON.stringify({ c: 'C', t: '1', k: 'rant' }))).toBeNull();
  });

  it('options: plain text within 75 characters, ids as values', () => {
    const o = customerOptions([{ id: '7', name: `${EVIL} ${'long '.repeat(30)}`, domain: 'evil.example', externalId: 'E', score: 1 }]);
    expect(o.options[0]!.value).toBe('7');
    expect(o.options[0]!.text.type).toBe('plain_text');
    expect(Array.from(o.options[0]!.text.text).length).toBeLessThanOrEqual(75);
  });
});
