import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScoresWrittenHooks } from '../../src/scores/hooks.js';
import { ALERT_ACTIONS } from '../../src/slack/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testCalendar } from '../helpers/clock.js';
import { loadCustomersCsv, seedRoster } from '../helpers/fixtures.js';
import { visibleText } from '../helpers/text.js';
import { click, customerId, postedWith, retain, submitView, until, writeScores, type PlantedScore } from './alerts.fixtures.js';

const cal = testCalendar('09:00:00Z');
const { clock } = cal;
const day = (n: number) => cal.at(n);
let app: TestApp;

const BOOK = `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
S1,Slipping Red,red.example,pro,120000,USD,${cal.date(47)},U0ALICE,emea
S2,Sliding Drop,drop.example,pro,30000,EUR,,U0BOB,emea
S3,Gone Quiet,quiet.example,basic,9000,USD,,,emea
T1,Thriving One,t1.example,pro,80000,USD,${cal.date(189)},U0ALICE,emea
T2,Steady Two,t2.example,pro,20000,USD,,U0BOB,emea
T3,Small Dip,t3.example,basic,5000,USD,,U0ALICE,emea
T4,Old Drop,t4.example,basic,5000,USD,,U0BOB,emea
L1,Lost Cause,lost.example,basic,1000,USD,,U0ALICE,emea
`;
const usageDown = { key: 'engagement', direction: 'down' as const, impact: -14, text: 'usage down 42% vs the previous 60 days' };
const complaints = { key: 'complaints', direction: 'down' as const, impact: -6, text: '3 complaints in 30 days' };

async function score(at: Date, rows: PlantedScore[]) {
  const scored = await writeScores(app.db, at, rows);
  await runScoresWrittenHooks(app.running.ctx, { id: '0', kind: 'full', asOf: at }, scored);
}

const warnings = () => postedWith(app, 'warning:');

beforeAll(async () => {
  app = await startTestApp('alerts', { roles: ['web', 'worker'], clock });
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, BOOK);
  await app.db.db.updateTable('customers').set({ status: 'churned' }).where('external_id', '=', 'L1').execute();
  // Two weeks of history: everyone healthy, one old drop outside the window.
  // (History only: no hooks ran for these, as if scored before retain had warnings.)
  await writeScores(app.db, day(-20), [{ name: 'Old Drop', health: 90 }]);
  await writeScores(app.db, day(-10), [
    { name: 'Slipping Red', health: 60, pAlive: 0.8 },
    { name: 'Sliding Drop', health: 85, pAlive: 0.9 },
    { name: 'Gone Quiet', health: 72, pAlive: 0.7 },
    { name: 'Thriving One', health: 80, pAlive: 0.95 },
    { name: 'Steady Two', health: 75, pAlive: 0.9 },
    { name: 'Small Dip', health: 70, pAlive: 0.8 },
    { name: 'Old Drop', health: 62, pAlive: 0.8 },
    { name: 'Lost Cause', health: 50, pAlive: 0.5 },
  ]);
  clock.set(day(0));
});
afterAll(async () => app?.stop());

describe('churn warnings from new scores', () => {
  it('warns exactly the slipping customers, once, each in the right place', async () => {
    expect(warnings()).toHaveLength(0);
    await score(day(0), [
      { name: 'Slipping Red', health: 32, pAlive: 0.6, tier: 'A', drivers: [usageDown, complaints] },
      { name: 'Sliding Drop', health: 66, pAlive: 0.8, tier: 'B', drivers: [complaints] },
      { name: 'Gone Quiet', health: 72, pAlive: 0.12, tier: 'C', drivers: [] },
      { name: 'Thriving One', health: 82, pAlive: 0.95 },
      { name: 'Steady Two', health: 74, pAlive: 0.9 },
      { name: 'Small Dip', health: 58, pAlive: 0.8 },
      { name: 'Old Drop', health: 60, pAlive: 0.8 },
      { name: 'Lost Cause', health: 12, pAlive: 0.05 },
    ]);
    await app.slack.waitFor(() => warnings().length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    const posted = warnings();
    expect(posted).toHaveLength(3);
    const byName = (n: string) => posted.find((p) => p.text.includes(n))!;
    // owner's alert channel, owner's DM, team channel for the unowned one
    expect(byName('Slipping Red').channel).toBe('C0ALICE');
    expect(byName('Sliding Drop').channel).toBe('D0BOB');
    expect(byName('Gone Quiet').channel).toBe('C0EMEA');

    const red = visibleText(byName('Slipping Red').blocks);
    expect(red).toContain('Churn warning: Slipping Red');
    expect(red).toContain('Health 32');
    expect(red).toContain('in the red band');
    expect(red).toContain('health fell 28 points within 14 days');
    expect(red).toContain('usage down 42% vs the previous 60 days');
    expect(red).toContain('$120.0K');
    expect(red).toContain(`${cal.short(47)} (in 47 days)`);
    expect(red).toMatch(/Suggested next step:\* Renewal in 47 days: confirm the decision-maker and timeline\. Book a usage review/);
    expect(red).toMatch(/[▁▂▃▄▅▆▇█]{2}/);
    expect(visibleText(byName('Sliding Drop').blocks)).toContain('health fell 19 points within 14 days');
    expect(visibleText(byName('Gone Quiet').blocks)).toContain('P(alive) 0.12, below 0.3');

    const alerts = await app.db.db.selectFrom('alerts').select(['rule', 'triggers', 'episode', 'status']).orderBy('id').execute();
    expect(alerts.map((a) => [a.rule, a.episode, a.status])).toEqual([
      ['red_band', 1, 'open'],
      ['score_drop', 1, 'open'],
      ['p_alive', 1, 'open'],
    ]);
    expect(alerts[0]!.triggers).toEqual(['red_band', 'score_drop']);
  });

  it('a second evaluation (and a re-run batch) warns nobody new', async () => {
    clock.set(day(1));
    const again: PlantedScore[] = [
      { name: 'Slipping Red', health: 30, pAlive: 0.6 },
      { name: 'Sliding Drop', health: 65, pAlive: 0.8 },
      { name: 'Gone Quiet', health: 71, pAlive: 0.1 },
      { name: 'Thriving One', health: 83, pAlive: 0.95 },
    ];
    const scored = await writeScores(app.db, day(1), again);
    await runScoresWrittenHooks(app.running.ctx, { id: '0', kind: 'incremental', asOf: day(1) }, scored);
    await runScoresWrittenHooks(app.running.ctx, { id: '0', kind: 'incremental', asOf: day(1) }, scored);
    await new Promise((r) => setTimeout(r, 500));
    expect(warnings()).toHaveLength(3);
    expect(await app.db.db.selectFrom('alerts').select('id').execute()).toHaveLength(3);
  });

  it('buttons change the warning and update the message in place to show who did what', async () => {
    const msg = warnings().find((p) => p.text.includes('Slipping Red'))!;
    const alertId = (msg.blocks as any[]).find((b) => b.type === 'actions').elements[0].value as string;

    await click(app, { actionId: ALERT_ACTIONS.acknowledge, value: alertId, userId: 'U0ALICE', channel: msg.channel, ts: msg.ts });
    const ack = await until(async () => app.slack.updates.find((u) => u.ts === msg.ts && visibleText(u.blocks).includes('acknowledged by <@U0ALICE>')));
    expect(ack.channel).toBe('C0ALICE');
    expect(visibleText(ack.blocks)).toContain('Churn warning: Slipping Red');

    await click(app, { actionId: ALERT_ACTIONS.useful, value: alertId, userId: 'U0MANAGER', channel: msg.channel, ts: msg.ts });
    await until(async () => app.slack.updates.find((u) => u.ts === msg.ts && visibleText(u.blocks).includes('marked useful by <@U0MANAGER>')));
    const row = await app.db.db.selectFrom('alerts').selectAll().where('id', '=', alertId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'acknowledged', acknowledged_by_slack_id: 'U0ALICE', verdict: 'useful', verdict_by_slack_id: 'U0MANAGER' });

    const drop = warnings().find((p) => p.text.includes('Sliding Drop'))!;
    const dropId = (drop.blocks as any[]).find((b) => b.type === 'actions').elements[0].value as string;
    await click(app, { actionId: ALERT_ACTIONS.snooze, value: dropId, userId: 'U0BOB', channel: drop.channel, ts: drop.ts });
    await until(async () => app.slack.updates.find((u) => u.ts === drop.ts && visibleText(u.blocks).includes(`snoozed until ${cal.short(1 + 7)} by <@U0BOB>`)));
    await click(app, { actionId: ALERT_ACTIONS.falseAlarm, value: dropId, userId: 'U0BOB', channel: drop.channel, ts: drop.ts });
    await until(async () => app.slack.updates.find((u) => u.ts === drop.ts && visibleText(u.blocks).includes('false alarm by <@U0BOB>')));
    expect(await app.db.db.selectFrom('alerts').select(['status', 'verdict']).where('id', '=', dropId).executeTakeFirst()).toEqual({
      status: 'snoozed',
      verdict: 'false_alarm',
    });
  });

  it('refuses, ephemerally, someone outside the account team — and changes nothing', async () => {
    const msg = warnings().find((p) => p.text.includes('Gone Quiet'))!;
    const alertId = (msg.blocks as any[]).find((b) => b.type === 'actions').elements[0].value as string;
    const updatesBefore = app.slack.updates.length;
    const id = await click(app, { actionId: ALERT_ACTIONS.acknowledge, value: alertId, userId: 'U0CHEN', channel: msg.channel, ts: msg.ts });
    await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
    const reply = app.slack.responses.find((r) => r.id === id)!.body as any;
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.replace_original).toBe(false);
    expect(reply.text).toMatch(/Only the owner of Gone Quiet, people in its team, or an admin can act on this warning/);
    expect(app.slack.updates.length).toBe(updatesBefore);
    expect((await app.db.db.selectFrom('alerts').select('status').where('id', '=', alertId).executeTakeFirstOrThrow()).status).toBe('open');
  });

  it('Log follow-up opens a modal first, then records the touch, marks the customer for rescoring, and updates the message', async () => {
    const msg = warnings().find((p) => p.text.includes('Gone Quiet'))!;
    const alertId = (msg.blocks as any[]).find((b) => b.type === 'actions').elements[0].value as string;
    const quietId = await customerId(app.db, 'Gone Quiet');
    const changedBefore = (await app.db.db.selectFrom('customers').select('data_changed_at').where('id', '=', quietId).executeTakeFirstOrThrow())
      .data_changed_at;
    await click(app, { actionId: ALERT_ACTIONS.logFollowUp, value: alertId, userId: 'U0ALICE', channel: msg.channel, ts: msg.ts });
    const opened = await until(async () => app.slack.calls.find((c) => c.method === 'views.open'));
    const view = (typeof opened.body.view === 'string' ? JSON.parse(opened.body.view) : opened.body.view) as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(ALERT_ACTIONS.followUpView);

    await submitView(app, {
      callbackId: ALERT_ACTIONS.followUpView,
      userId: 'U0ALICE',
      privateMetadata: view.private_metadata,
      values: {
        kind: { value: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Call' }, value: 'call' } } },
        note: { value: { type: 'plain_text_input', value: 'Spoke to the CFO; orders resume in January' } },
      },
    });
    await until(async () => app.slack.updates.find((u) => u.ts === msg.ts && visibleText(u.blocks).includes('follow-up logged (call) by <@U0ALICE>')));
    const touch = await app.db.db.selectFrom('interactions').selectAll().where('customer_id', '=', quietId).executeTakeFirstOrThrow();
    expect(touch).toMatchObject({ kind: 'call', author_slack_id: 'U0ALICE', note: 'Spoke to the CFO; orders resume in January' });
    const changedAfter = (await app.db.db.selectFrom('customers').select('data_changed_at').where('id', '=', quietId).executeTakeFirstOrThrow())
      .data_changed_at;
    expect(new Date(changedAfter).getTime()).toBeGreaterThan(new Date(changedBefore).getTime());
    expect((await app.db.db.selectFrom('alerts').select('status').where('id', '=', alertId).executeTakeFirstOrThrow()).status).toBe('acknowledged');
    const confirm = await until(async () => app.slack.calls.find((c) => c.method === 'chat.postEphemeral' && String(c.body.text).includes('Logged your call')));
    expect(confirm.body.user).toBe('U0ALICE');
  });

  it('recovery closes a warning; a snooze that expired while still slipping raises a new episode', async () => {
    clock.set(day(9));
    await score(day(9), [
      { name: 'Slipping Red', health: 52, pAlive: 0.7 }, // above 40 + 5, no drop within 14 days of day 9 (max 32..30)
      { name: 'Sliding Drop', health: 35, pAlive: 0.6, drivers: [complaints] }, // red now, snooze (7 days) over
      { name: 'Gone Quiet', health: 70, pAlive: 0.15 },
    ]);
    await app.slack.waitFor(() => warnings().length === 4);
    const alerts = await app.db.db
      .selectFrom('alerts as a')
      .innerJoin('customers as c', 'c.id', 'a.customer_id')
      .select(['c.name', 'a.episode', 'a.status', 'a.resolved_reason', 'a.rule'])
      .orderBy('a.id')
      .execute();
    expect(alerts).toEqual([
      { name: 'Slipping Red', episode: 1, status: 'resolved', resolved_reason: 'recovered', rule: 'red_band' },
      { name: 'Sliding Drop', episode: 1, status: 'resolved', resolved_reason: 'snooze_expired', rule: 'score_drop' },
      { name: 'Gone Quiet', episode: 1, status: 'acknowledged', resolved_reason: null, rule: 'p_alive' },
      { name: 'Sliding Drop', episode: 2, status: 'open', resolved_reason: null, rule: 'red_band' },
    ]);
    const dropCustomer = await customerId(app.db, 'Sliding Drop');
    const second = warnings().find((p) => p.metadata?.event_payload.key === `warning:${dropCustomer}:2`);
    expect(second?.channel).toBe('D0BOB');

    // The ended warnings' messages are edited in place to say so, and lose their buttons.
    const redCustomer = await customerId(app.db, 'Slipping Red');
    for (const [cid, reason] of [
      [redCustomer, 'resolved (recovered)'],
      [dropCustomer, 'resolved (snooze expired)'],
    ] as const) {
      const original = warnings().find((p) => p.metadata?.event_payload.key === `warning:${cid}:1`)!;
      const edit = await until(async () => app.slack.updates.filter((u) => u.ts === original.ts && visibleText(u.blocks).includes(reason)).at(-1));
      expect(edit.channel).toBe(original.channel);
      expect(edit.blocks.some((b) => (b as { type?: string }).type === 'actions')).toBe(false);
    }
    // The warning still in force keeps its buttons: no edit says it is over.
    const quietCustomer = await customerId(app.db, 'Gone Quiet');
    const quiet = warnings().find((p) => p.metadata?.event_payload.key === `warning:${quietCustomer}:1`)!;
    expect(app.slack.updates.filter((u) => u.ts === quiet.ts).every((u) => !visibleText(u.blocks).includes('resolved'))).toBe(true);
  });

  it('retain alerts stats: raised, acknowledged, useful, false alarm and precision per rule', async () => {
    const { code, out } = await retain(app.running.ctx.config, ['alerts', 'stats']);
    expect(code).toBe(0);
    expect(out).toMatch(/red_band\s+2\s+1\s+1\s+0\s+100%/);
    expect(out).toMatch(/score_drop\s+1\s+0\s+0\s+1\s+0%/);
    expect(out).toMatch(/p_alive\s+1\s+1\s+0\s+0\s+–/);
    expect(out).toMatch(/all\s+4\s+2\s+1\s+1\s+50%/);
  });
});
