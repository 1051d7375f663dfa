import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanRenewals } from '../../src/renewals/renewal.service.js';
import { RENEWAL_ACTIONS } from '../../src/slack/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { formatShort, testCalendar } from '../helpers/clock.js';
import { loadCustomersCsv, seedRoster } from '../helpers/fixtures.js';
import { actionIds, visibleText } from '../helpers/text.js';
import { click, customerId, postedWith, retain, submitView, until, writeScores } from './alerts.fixtures.js';

// The two renewals decided below (in 29 and 30 days) fall in one quarter, and
// the one rolled forward a year is not on 29 February.
const cal = testCalendar('09:00:00Z', { fits: ({ date, quarter }) => quarter(29) === quarter(30) && !date(30).endsWith('-02-29') });
const { clock } = cal;
const TODAY = cal.today;
let app: TestApp;
const d = cal.date;
const yearAfter = (date: string) => `${Number(date.slice(0, 4)) + 1}${date.slice(4)}`;

const BOOK = `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
R90,Ninety Co,r90.example,pro,90000,USD,${d(90)},U0ALICE,emea
R30,Thirty Co,r30.example,pro,30000,USD,${d(30)},U0BOB,emea
R29,Missed Scan Co,r29.example,pro,29000,USD,${d(29)},U0BOB,emea
R100,Far Co,r100.example,pro,100000,USD,${d(100)},U0BOB,emea
RP,Passed Co,rp.example,pro,5000,USD,${d(-3)},U0BOB,emea
RU,Unowned Co,ru.example,basic,7000,USD,${d(7)},,emea
`;

const reminders = () => postedWith(app, 'renewal:');
const keyOf = (p: { metadata?: { event_payload: Record<string, unknown> } }) => String(p.metadata?.event_payload.key);
const viewOf = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as any;
const refOf = (p: { blocks: unknown[] }) => (p.blocks as any[]).find((b) => b.type === 'actions').elements[0].value as string;

beforeAll(async () => {
  // Fast pacing for this file: many reminders to one channel over "100 days".
  const dir = mkdtempSync(join(tmpdir(), 'retain-renewals-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ pacing: { perChannelMs: 20 } }));
  app = await startTestApp('renewals', { roles: ['web', 'worker'], clock, env: { RETAIN_CONFIG: join(dir, 'config.json') } });
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, BOOK);
  await writeScores(app.db, new Date(`${TODAY}T08:00:00Z`), [
    {
      name: 'Ninety Co',
      health: 55,
      tier: 'A',
      drivers: [{ key: 'cadence', direction: 'down', impact: -6, text: 'no touch in 75 days; tier A expects one every 30' }],
    },
    { name: 'Thirty Co', health: 81, tier: 'B' },
  ]);
});
afterAll(async () => app?.stop());

describe('renewal reminders', () => {
  it('sends the reminder due today, to the owner, with health and drivers — once however often the scan runs', async () => {
    await app.running.ctx.queues!.add('scanRenewals', {});
    await app.slack.waitFor(() => reminders().length >= 4);
    await scanRenewals(app.running.ctx);
    await scanRenewals(app.running.ctx);
    await new Promise((r) => setTimeout(r, 300));
    const sent = reminders();
    const ids = Object.fromEntries(
      await Promise.all(['Ninety Co', 'Thirty Co', 'Missed Scan Co', 'Unowned Co'].map(async (n) => [n, await customerId(app.db, n)])),
    );
    expect(sent.map(keyOf).sort()).toEqual(
      [
        `renewal:${ids['Ninety Co']}:${d(90)}:90`,
        `renewal:${ids['Thirty Co']}:${d(30)}:30`,
        // missed its 30-day scan yesterday: gets that one (not 60 or 90)
        `renewal:${ids['Missed Scan Co']}:${d(29)}:30`,
        `renewal:${ids['Unowned Co']}:${d(7)}:7`,
      ].sort(),
    );
    const ninety = sent.find((p) => p.text.includes('Ninety Co'))!;
    expect(ninety.channel).toBe('C0ALICE');
    const text = visibleText(ninety.blocks);
    expect(text).toContain('Renewal in 90 days: Ninety Co');
    expect(text).toContain('Health 55');
    expect(text).toContain('no touch in 75 days');
    expect(text).toContain('$90.0K');
    expect(sent.find((p) => p.text.includes('Thirty Co'))!.channel).toBe('D0BOB');
    expect(sent.find((p) => p.text.includes('Missed Scan Co'))!.text).toContain('Renewal in 29 days');
    expect(sent.find((p) => p.text.includes('Unowned Co'))!.channel).toBe('C0EMEA');
  });

  it('refuses Renewed from someone who is neither the owner nor a manager, with a clear ephemeral answer', async () => {
    const msg = reminders().find((p) => p.text.includes('Thirty Co'))!;
    for (const who of ['U0ALICE', 'U0CHEN', 'U0NOBODY']) {
      const id = await click(app, { actionId: RENEWAL_ACTIONS.renewed, value: refOf(msg), userId: who, channel: msg.channel, ts: msg.ts });
      await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
      const reply = app.slack.responses.find((r) => r.id === id)!.body as any;
      expect(reply.response_type).toBe('ephemeral');
      expect(reply.text).toContain('Only @U0BOB (the owner of Thirty Co) or a manager of its team can mark this renewal. Nothing was changed.');
    }
    expect(await app.db.db.selectFrom('renewals').selectAll().execute()).toHaveLength(0);
    expect(app.slack.updates.filter((u) => u.ts === msg.ts)).toHaveLength(0);
  });

  it('Renewed by the owner: outcome stored with a snapshot, renewal date rolls forward a year, message updated', async () => {
    const msg = reminders().find((p) => p.text.includes('Thirty Co'))!;
    await click(app, { actionId: RENEWAL_ACTIONS.renewed, value: refOf(msg), userId: 'U0BOB', channel: msg.channel, ts: msg.ts });
    const update = await until(async () => app.slack.updates.find((u) => u.ts === msg.ts));
    expect(visibleText(update.blocks)).toContain(`Marked *renewed* by <@U0BOB> — next renewal ${formatShort(yearAfter(d(30)))}`);
    expect(actionIds(update.blocks)).not.toContain(RENEWAL_ACTIONS.churned);
    const id = await customerId(app.db, 'Thirty Co');
    const r = await app.db.db.selectFrom('renewals').selectAll().where('customer_id', '=', id).executeTakeFirstOrThrow();
    expect(r).toMatchObject({ renewal_date: d(30), outcome: 'renewed', arr: '30000.00', tier: 'B', decided_by_slack_id: 'U0BOB' });
    expect(r.owner_member_id).not.toBeNull();
    expect(r.team_id).not.toBeNull();
    expect((await app.db.db.selectFrom('customers').select('renewal_date').where('id', '=', id).executeTakeFirstOrThrow()).renewal_date).toBe(yearAfter(d(30)));

    // a second click (a manager, say) changes nothing and says so
    const again = await click(app, { actionId: RENEWAL_ACTIONS.churned, value: refOf(msg), userId: 'U0MANAGER', channel: msg.channel, ts: msg.ts });
    await until(async () => app.slack.calls.filter((c) => c.method === 'views.open').length >= 1);
    const churnView = viewOf(app.slack.calls.filter((c) => c.method === 'views.open').at(-1)!.body.view);
    await submitView(app, {
      callbackId: RENEWAL_ACTIONS.churnView,
      userId: 'U0MANAGER',
      privateMetadata: churnView.private_metadata,
      values: {
        reason: { value: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Price' }, value: 'price' } } },
        note: { value: { type: 'plain_text_input', value: null } },
      },
    });
    const said = await until(async () =>
      app.slack.calls.find((c) => c.method === 'chat.postEphemeral' && String(c.body.text).includes('already marked renewed')),
    );
    expect(said.body.user).toBe('U0MANAGER');
    expect(again).toBeTruthy();
    expect((await app.db.db.selectFrom('customers').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('active');
  });

  it('Churned asks why in a modal; a manager records the reason, the customer becomes churned', async () => {
    const msg = reminders().find((p) => p.text.includes('Missed Scan Co'))!;
    const opens = app.slack.calls.filter((c) => c.method === 'views.open').length;
    await click(app, { actionId: RENEWAL_ACTIONS.churned, value: refOf(msg), userId: 'U0MANAGER', channel: msg.channel, ts: msg.ts });
    await until(async () => app.slack.calls.filter((c) => c.method === 'views.open').length > opens);
    const view = viewOf(app.slack.calls.filter((c) => c.method === 'views.open').at(-1)!.body.view);
    expect(view.callback_id).toBe(RENEWAL_ACTIONS.churnView);
    expect(view.blocks.flatMap((b: any) => b.element?.options ?? []).map((o: any) => o.value)).toContain('champion_left');
    await submitView(app, {
      callbackId: RENEWAL_ACTIONS.churnView,
      userId: 'U0MANAGER',
      privateMetadata: view.private_metadata,
      values: {
        reason: { value: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Competitor' }, value: 'competitor' } } },
        note: { value: { type: 'plain_text_input', value: 'Moved to <!channel> Rival Inc' } },
      },
    });
    const update = await until(async () => app.slack.updates.find((u) => u.ts === msg.ts));
    expect(visibleText(update.blocks)).toContain('Marked *churned* by <@U0MANAGER> — reason: Competitor');
    expect(visibleText(update.blocks)).not.toContain('<!channel>');
    const id = await customerId(app.db, 'Missed Scan Co');
    expect(
      await app.db.db.selectFrom('renewals').select(['outcome', 'churn_reason', 'churn_note']).where('customer_id', '=', id).executeTakeFirstOrThrow(),
    ).toEqual({
      outcome: 'churned',
      churn_reason: 'competitor',
      churn_note: 'Moved to <!channel> Rival Inc',
    });
    const c = await app.db.db.selectFrom('customers').select(['status', 'churned_at']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(c.status).toBe('churned');
    expect(c.churned_at).not.toBeNull();
    // The contract ended on the renewal date, not when the button was clicked.
    expect(new Date(c.churned_at!).toISOString().slice(0, 10)).toBe(d(29));
  });

  it('Churned from a rep on someone else’s account: the modal turns into the refusal, and an ephemeral says why', async () => {
    const msg = reminders().find((p) => p.text.includes('Ninety Co'))!;
    const id = await click(app, { actionId: RENEWAL_ACTIONS.churned, value: refOf(msg), userId: 'U0BOB', channel: msg.channel, ts: msg.ts });
    await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
    expect((app.slack.responses.find((r) => r.id === id)!.body as any).text).toContain('Only @U0ALICE (the owner of Ninety Co) or a manager');
    const updated = await until(async () => app.slack.calls.find((c) => c.method === 'views.update'));
    expect(visibleText(viewOf(updated.body.view))).toContain('Not yours to decide');
    expect(
      (
        await app.db.db
          .selectFrom('customers')
          .select('status')
          .where('id', '=', await customerId(app.db, 'Ninety Co'))
          .executeTakeFirstOrThrow()
      ).status,
    ).toBe('active');
  });

  it('Snooze holds reminders back until it expires; then the most recent due one goes out', async () => {
    const msg = reminders().find((p) => p.text.includes('Unowned Co'))!;
    await click(app, { actionId: RENEWAL_ACTIONS.snooze, value: refOf(msg), userId: 'U0ALICE', channel: msg.channel, ts: msg.ts }); // unowned: a team manager may; a rep may not
    const id = await customerId(app.db, 'Unowned Co');
    await click(app, { actionId: RENEWAL_ACTIONS.snooze, value: refOf(msg), userId: 'U0MANAGER', channel: msg.channel, ts: msg.ts });
    const update = await until(async () => app.slack.updates.find((u) => u.ts === msg.ts));
    expect(visibleText(update.blocks)).toContain(`Reminders snoozed until ${cal.short(7)} by <@U0MANAGER>`);
    expect(actionIds(update.blocks)).toContain(RENEWAL_ACTIONS.renewed); // still decidable
    expect((await app.db.db.selectFrom('renewals').select('snoozed_until').where('customer_id', '=', id).executeTakeFirstOrThrow()).snoozed_until).toEqual(
      cal.at(7),
    );
  });

  it('walking 100 days (one scan a day, one day missed): every reminder day once, none twice, nothing after the date', async () => {
    for (let n = 1; n <= 100; n++) {
      clock.set(cal.at(n));
      if (n === 30) continue; // the scan on Ninety Co's 60-days-left day did not run
      await scanRenewals(app.running.ctx);
    }
    // Wait for the outbox to drain (every claimed reminder delivered), not for a fixed time.
    await until(async () => {
      const open = await app.db.db.selectFrom('notifications').select('id').where('status', 'in', ['pending', 'sending']).executeTakeFirst();
      return !open;
    }, 30_000);
    const ids = Object.fromEntries(await Promise.all(['Ninety Co', 'Far Co', 'Unowned Co', 'Passed Co'].map(async (n) => [n, await customerId(app.db, n)])));
    const keys = reminders().map(keyOf);
    expect(new Set(keys).size).toBe(keys.length);
    // Delivery order across channels is not part of the contract: compare the set of days, largest first.
    const daysFor = (name: string) =>
      keys
        .filter((k) => k.startsWith(`renewal:${ids[name]}:`))
        .map((k) => Number(k.split(':')[3]))
        .sort((a, b) => b - a);
    expect(daysFor('Ninety Co')).toEqual([90, 60, 30, 14, 7, 1]);
    expect(daysFor('Far Co')).toEqual([90, 60, 30, 14, 7, 1]);
    // snoozed day 0 → day 7: the 1-day reminder (day 6) waited, then went on the day itself
    expect(daysFor('Unowned Co')).toEqual([7, 1]);
    expect(reminders().find((p) => keyOf(p) === `renewal:${ids['Unowned Co']}:${d(7)}:1`)!.text).toContain('Renewal today');
    expect(daysFor('Passed Co')).toEqual([]);
    // the missed scan: the 60-day reminder went out a day late, once
    expect(reminders().find((p) => keyOf(p) === `renewal:${ids['Ninety Co']}:${d(90)}:60`)!.text).toContain('Renewal in 59 days');
  });

  it('retain renewals stats: renewal rate per quarter by team, owner and tier', async () => {
    const { out } = await retain(app.running.ctx.config, ['renewals', 'stats']);
    const q = cal.quarter(30); // both decided renewals' quarter
    expect(out).toMatch(new RegExp(`${q}\\s+all\\s+all\\s+1\\s+1\\s+2\\s+50%`));
    expect(out).toMatch(new RegExp(`${q}\\s+team\\s+emea\\s+1\\s+1\\s+2\\s+50%`));
    expect(out).toMatch(new RegExp(`${q}\\s+owner\\s+U0BOB\\s+1\\s+1\\s+2\\s+50%`));
    expect(out).toMatch(new RegExp(`${q}\\s+tier\\s+B\\s+1\\s+0\\s+1\\s+100%`));
    expect(out).toContain('churn reasons: Competitor 1');
  });
});
