import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, ALERT_ACTIONS, BLOCKS, SHORTCUTS, VIEWS } from '../../src/slack/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testCalendar } from '../helpers/clock.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { interact, slash, until } from '../helpers/interact.js';
import { actionIds, mrkdwnText, visibleText } from '../helpers/text.js';
import { click as clickButton } from './alerts.fixtures.js';

let app: TestApp;
const cal = testCalendar('10:00:00Z');

const customer = (name: string) => app.db.db.selectFrom('customers').select(['id', 'data_changed_at']).where('name', '=', name).executeTakeFirstOrThrow();
const lastFeedback = () => app.db.db.selectFrom('feedback').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
const alertsOf = async (name: string) =>
  app.db.db
    .selectFrom('alerts')
    .selectAll()
    .where('customer_id', '=', (await customer(name)).id)
    .orderBy('id')
    .execute();
const postedTo = (channel: string, needle: string) => app.slack.posted.filter((p) => p.channel === channel && visibleText(p).includes(needle));

async function score(name: string, tier: 'A' | 'B' | 'C', health = 55) {
  const c = await customer(name);
  await sql`INSERT INTO customer_scores (customer_id, run_id, scored_at, health, band, tier)
    VALUES (${c.id}, 1, now(), ${health}, ${health >= 70 ? 'green' : health >= 40 ? 'yellow' : 'red'}, ${tier})`.execute(app.db.db);
}

beforeAll(async () => {
  app = await startTestApp('feedback', { roles: ['web', 'worker'], clock: cal.clock });
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, sampleCustomers(cal.today));
  await score('Globex', 'A'); // owner U0BOB, no alert channel → DM
  await score('Acme Corp', 'A'); // owner U0ALICE, alert channel C0ALICE
  await score('Acme Logistics', 'C'); // unowned
});
afterAll(async () => app?.stop());

describe('/feedback', () => {
  it('classifies a Chinese complaint, stores it, bumps data_changed_at, and alerts the owner of a tier-A account at once', async () => {
    const r = await slash(app, '/feedback', 'globex: 太慢了，经常崩溃', 'U0ALICE');
    expect(r.response_type).toBe('ephemeral');
    expect(visibleText(r)).toContain('Logged a *complaint* for *Globex*');
    expect(visibleText(r)).toContain('its owner <@U0BOB> has been alerted');
    const f = await lastFeedback();
    expect(f).toMatchObject({ kind: 'complaint', kind_source: 'auto', source: 'slash', author_slack_id: 'U0ALICE', text: '太慢了，经常崩溃' });
    expect(Number(f.sentiment)).toBeLessThan(-0.5);
    expect(new Date((await customer('Globex')).data_changed_at).toISOString()).toBe(cal.at(0).toISOString());
    const [alert] = await alertsOf('Globex');
    expect(alert).toMatchObject({ rule: 'complaint_tier_a', episode: 1, status: 'open' });
    expect(f.alert_id).toBe(alert!.id);
    await app.slack.waitFor(() => postedTo('D0BOB', '太慢了').length === 1);
    const dm = postedTo('D0BOB', '太慢了')[0]!;
    expect(visibleText(dm)).toContain('complaint on tier-A account *Globex*, logged by <@U0ALICE>');
    const n = await app.db.db.selectFrom('notifications').select(['dedupe_key', 'kind']).where('kind', '=', 'complaint_tier_a').execute();
    expect(n).toEqual([{ dedupe_key: `warning:${alert!.customer_id}:1`, kind: 'complaint_tier_a' }]);

    // Its buttons measure the rule: the owner marks it useful, and the message says so in place.
    expect(actionIds(dm.blocks)).toContain(ALERT_ACTIONS.useful);
    expect(actionIds(dm.blocks)).not.toContain(ALERT_ACTIONS.snooze);
    await clickButton(app, { actionId: ALERT_ACTIONS.useful, value: String(alert!.id), userId: 'U0BOB', channel: dm.channel, ts: dm.ts });
    const edit = await until(async () => app.slack.updates.find((u) => u.ts === dm.ts && visibleText(u.blocks).includes('marked useful by <@U0BOB>')));
    expect(edit.channel).toBe('D0BOB');
    const [after] = await alertsOf('Globex');
    expect(after).toMatchObject({ verdict: 'useful', verdict_by_slack_id: 'U0BOB' });
  });

  it('sends a tier-A complaint to the owner’s alert channel when they have one', async () => {
    const r = await slash(app, '/feedback', 'acme corp: the export is broken again, this is unacceptable', 'U0BOB');
    expect(visibleText(r)).toContain('<@U0ALICE> has been alerted');
    await app.slack.waitFor(() => postedTo('C0ALICE', 'the export is broken again').length === 1);
    expect(await alertsOf('Acme Corp')).toHaveLength(1);
  });

  it.each([
    ['非常好用，谢谢', 'praise'],
    ['能不能加一个导出功能', 'suggestion'],
    ['怎么设置权限？', 'question'],
    ['售后响应太慢，系统老是报错', 'complaint'],
    ['Love the new dashboard, thanks a lot!', 'praise'],
    ['It would be great if you could add SSO', 'suggestion'],
    ['How do I reset a user password?', 'question'],
    ['The app crashes every morning and support is slow', 'complaint'],
  ])('classifies “%s” as %s', async (text, kind) => {
    const r = await slash(app, '/feedback', `acme logistics: ${text}`, 'U0ALICE');
    expect(visibleText(r)).toContain(`Logged a *${kind}* for *Acme Logistics*`);
    const f = await lastFeedback();
    expect(f).toMatchObject({ kind, kind_source: 'auto', text });
    if (kind === 'praise') expect(Number(f.sentiment)).toBeGreaterThan(0);
    if (kind === 'complaint') expect(Number(f.sentiment)).toBeLessThan(0);
  });

  it('a tag wins over the classifier, and a complaint on a tier-C account alerts nobody', async () => {
    const r = await slash(app, '/feedback', 'acme logistics: great people, but #complaint about invoices', 'U0ALICE');
    expect(visibleText(r)).toContain('Logged a *complaint*');
    expect(visibleText(r)).not.toContain('alerted');
    expect(await lastFeedback()).toMatchObject({ kind: 'complaint', kind_source: 'tag', text: 'great people, but about invoices' });
    expect(await alertsOf('Acme Logistics')).toHaveLength(0);
  });

  it('answers bad input with what is wrong and the right form', async () => {
    expect(visibleText(await slash(app, '/feedback', 'globex', 'U0ALICE'))).toContain('The feedback text is missing');
    expect(visibleText(await slash(app, '/feedback', '', 'U0ALICE'))).toContain('/feedback &lt;customer&gt;');
    expect((await slash(app, '/feedback', 'Nonexistent Widgets Ltd: hello', 'U0ALICE')).text).toContain('No customer matches');
    expect(visibleText(await slash(app, '/feedback', 'globex: hello', 'U0STRANGER'))).toContain('retain member add U0STRANGER');
  });

  it('keeps customer text inert', async () => {
    const r = await slash(app, '/feedback', 'globex: <!channel> this is broken', 'U0ALICE');
    expect(mrkdwnText(r.blocks)).not.toContain('<!channel>');
    expect(mrkdwnText(r.blocks)).toContain('&lt;!channel&gt; this is broken');
    await app.slack.waitFor(() => postedTo('D0BOB', 'this is broken').length === 1);
    expect(mrkdwnText(postedTo('D0BOB', 'this is broken')[0]!.blocks)).not.toContain('<!channel>');
  });
});

describe('message shortcut “Log as customer feedback”', () => {
  const message = { type: 'message', user: 'U0CUSTOMER', ts: '1764000000.000100', text: 'The export is broken again and it is really frustrating' };
  let opened: any;

  it('opens the modal first, with the kind suggested from the message', async () => {
    const res = await interact(app, {
      type: 'message_action',
      callback_id: SHORTCUTS.logFeedback,
      trigger_id: '111.222.abc',
      team: { id: 'T1', domain: 'test' },
      user: { id: 'U0ALICE', name: 'alice', team_id: 'T1' },
      channel: { id: 'C0SUPPORT', name: 'support' },
      message_ts: message.ts,
      message,
      response_url: `${app.slack.responseBase}/shortcut`,
      action_ts: '1764000001.0',
      token: 'legacy',
    });
    expect(res.status).toBe(200);
    await app.slack.waitFor(() => app.slack.calls.some((c) => c.method === 'views.open'));
    const call = app.slack.calls.find((c) => c.method === 'views.open')!;
    expect(call.body.trigger_id).toBe('111.222.abc');
    opened = call.body.view;
    expect(opened.callback_id).toBe(VIEWS.feedbackModal);
    const kind = opened.blocks.find((b: any) => b.block_id === BLOCKS.feedbackKind);
    expect(kind.element.initial_option.value).toBe('complaint');
    const text = opened.blocks.find((b: any) => b.block_id === BLOCKS.feedbackText);
    expect(text.element.initial_value).toBe(message.text);
    expect(opened.blocks.find((b: any) => b.block_id === BLOCKS.feedbackCustomer).element.type).toBe('external_select');
  });

  it('searches customers for the select (options load)', async () => {
    const res = await interact(app, {
      type: 'block_suggestion',
      action_id: ACTIONS.feedbackCustomer,
      block_id: BLOCKS.feedbackCustomer,
      value: 'globx',
      team: { id: 'T1', domain: 'test' },
      user: { id: 'U0ALICE', name: 'alice', team_id: 'T1' },
      api_app_id: 'A1',
      token: 'legacy',
      container: { type: 'view', view_id: 'V1' },
      view: { id: 'V1', type: 'modal', callback_id: VIEWS.feedbackModal, private_metadata: opened.private_metadata },
    });
    expect(res.status).toBe(200);
    expect(res.json.options[0]).toEqual({ text: { type: 'plain_text', text: 'Globex (globex.com)' }, value: (await customer('Globex')).id });
    const evil = await interact(app, {
      type: 'block_suggestion',
      action_id: ACTIONS.feedbackCustomer,
      block_id: BLOCKS.feedbackCustomer,
      value: 'evil',
      team: { id: 'T1', domain: 'test' },
      user: { id: 'U0ALICE', name: 'alice', team_id: 'T1' },
      api_app_id: 'A1',
      token: 'legacy',
      view: { id: 'V1', type: 'modal', callback_id: VIEWS.feedbackModal },
    });
    expect(evil.json.options[0].text.type).toBe('plain_text'); // plain text: <!channel> stays inert
  });

  // Each submission is its own interaction, with its own trigger_id (as Slack sends them): an identical body would be a replay.
  let submissions = 0;
  const submission = (o: { userId?: string; customerId?: string | null; kind?: string; text?: string }) => ({
    type: 'view_submission',
    team: { id: 'T1', domain: 'test' },
    user: { id: o.userId ?? 'U0ALICE', name: 'alice', team_id: 'T1' },
    api_app_id: 'A1',
    token: 'legacy',
    trigger_id: `333.${++submissions}.def`,
    view: {
      id: 'V1',
      type: 'modal',
      callback_id: VIEWS.feedbackModal,
      private_metadata: opened.private_metadata,
      hash: 'h1',
      state: {
        values: {
          [BLOCKS.feedbackCustomer]: {
            [ACTIONS.feedbackCustomer]: {
              type: 'external_select',
              selected_option: o.customerId ? { text: { type: 'plain_text', text: 'x' }, value: o.customerId } : null,
            },
          },
          [BLOCKS.feedbackKind]: {
            [ACTIONS.feedbackKind]: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'x' }, value: o.kind ?? 'complaint' } },
          },
          [BLOCKS.feedbackText]: { [ACTIONS.feedbackText]: { type: 'plain_text_input', value: o.text ?? message.text } },
        },
      },
    },
  });

  it('asks for the customer when none was picked', async () => {
    const res = await interact(app, submission({ customerId: null }));
    expect(res.json).toEqual({ response_action: 'errors', errors: { [BLOCKS.feedbackCustomer]: 'Pick the customer from the list.' } });
  });

  it('stores the feedback with the message link, confirms in the modal, and alerts a tier-A owner', async () => {
    const globex = await customer('Globex');
    const before = (await alertsOf('Globex')).length;
    const res = await interact(app, submission({ customerId: globex.id }));
    expect(res.status).toBe(200);
    expect(res.json.response_action).toBe('update');
    expect(visibleText(res.json.view.blocks)).toContain('Logged a *complaint* for *Globex*');
    expect(visibleText(res.json.view.blocks)).toContain('<@U0BOB> has been alerted');
    const f = await until(async () => {
      const row = await lastFeedback();
      return row.message_permalink ? row : null;
    });
    expect(f).toMatchObject({
      source: 'shortcut',
      kind: 'complaint',
      kind_source: 'auto',
      text: message.text,
      message_channel_id: 'C0SUPPORT',
      message_ts: message.ts,
      message_permalink: 'https://example.slack.com/archives/C0SUPPORT/p1764000000000100',
    });
    expect(await alertsOf('Globex')).toHaveLength(before + 1);
  });

  it('logs the same message for the same customer only once', async () => {
    const count = async () =>
      Number(
        (
          await app.db.db
            .selectFrom('feedback')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await count();
    const res = await interact(app, submission({ customerId: (await customer('Globex')).id }));
    expect(visibleText(res.json.view.blocks)).toContain('already logged');
    expect(await count()).toBe(before);
  });

  it('records a kind changed in the modal as chosen', async () => {
    const res = await interact(
      app,
      submission({ customerId: (await customer('Acme Logistics')).id, kind: 'suggestion', text: 'Add a retry button to the export' }),
    );
    expect(res.json.response_action).toBe('update');
    expect(await lastFeedback()).toMatchObject({ kind: 'suggestion', kind_source: 'chosen', text: 'Add a retry button to the export' });
  });

  it('explains to a non-member how to be added', async () => {
    const res = await interact(app, submission({ userId: 'U0STRANGER', customerId: (await customer('Globex')).id }));
    expect(res.json.response_action).toBe('update');
    expect(visibleText(res.json.view.blocks)).toContain('retain member add U0STRANGER');
  });
});
