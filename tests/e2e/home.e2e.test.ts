import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testCalendar } from '../helpers/clock.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { sendEvent, slash } from '../helpers/interact.js';
import { mrkdwnText, visibleText } from '../helpers/text.js';

let app: TestApp;
const cal = testCalendar('10:00:00Z');
const { clock } = cal;

const BOOK = `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
H1,Red Co,red.example,pro,90000,USD,${cal.date(11)},U0ALICE,emea
H2,Yellow Co,yellow.example,pro,20000,USD,${cal.date(158)},U0ALICE,emea
H3,Green Co,green.example,pro,150000,USD,${cal.date(250)},U0ALICE,emea
H4,Renew Soon,soon.example,basic,5000,USD,${cal.date(26)},U0ALICE,emea
H5,<!channel> Hostile,hostile.example,basic,100,USD,,U0ALICE,emea
`;

const id = async (name: string) => (await app.db.db.selectFrom('customers').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
async function score(name: string, health: number, tier: 'A' | 'B' | 'C') {
  await sql`INSERT INTO customer_scores (customer_id, run_id, scored_at, health, band, tier)
    VALUES (${await id(name)}, 1, now(), ${health}, ${health >= 70 ? 'green' : health >= 40 ? 'yellow' : 'red'}, ${tier})`.execute(app.db.db);
}
async function touched(name: string, daysAgo: number) {
  await app.db.db
    .insertInto('interactions')
    .values({
      customer_id: await id(name),
      author_slack_id: 'U0ALICE',
      kind: 'call',
      note: 'x',
      occurred_at: new Date(clock.now().getTime() - daysAgo * 86_400_000),
    })
    .execute();
}

/** Open the Home tab as a user; return the published view (or null when nothing was published). */
async function openHome(userId: string, tab = 'home') {
  const before = app.slack.calls.filter((c) => c.method === 'views.publish').length;
  const res = await sendEvent(app, { type: 'app_home_opened', user: userId, channel: `D${userId}`, tab, event_ts: '1764000000.000001' });
  expect(res.status).toBe(200);
  if (tab !== 'home') {
    await new Promise((r) => setTimeout(r, 300));
    expect(app.slack.calls.filter((c) => c.method === 'views.publish').length).toBe(before);
    return null;
  }
  await app.slack.waitFor(() => app.slack.calls.filter((c) => c.method === 'views.publish').length > before);
  const call = app.slack.calls.filter((c) => c.method === 'views.publish').at(-1)!;
  expect(call.body.user_id).toBe(userId);
  return call.body.view as { type: string; blocks: any[] };
}

/** Text of the section that follows a section titled `title`, up to the next divider. */
function sectionText(view: { blocks: any[] }, title: string): string {
  const start = view.blocks.findIndex((b) => b.type === 'section' && b.text?.text.includes(title));
  expect(start).toBeGreaterThanOrEqual(0);
  const out: string[] = [];
  for (const b of view.blocks.slice(start + 1)) {
    if (b.type === 'divider') break;
    out.push(visibleText([b]));
  }
  return out.join('\n');
}

beforeAll(async () => {
  app = await startTestApp('home', { roles: ['web', 'worker'], clock });
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, sampleCustomers(cal.today));
  await loadCustomersCsv(app.db, BOOK);
  await score('Red Co', 20, 'A');
  await score('Yellow Co', 55, 'B');
  await score('Green Co', 85, 'A');
  await touched('Yellow Co', 10);
  await touched('Green Co', 40);
  await touched('Renew Soon', 5);
  await touched('Acme Corp', 3);
  await touched('<!channel> Hostile', 1);
});
afterAll(async () => app?.stop());

describe('App Home', () => {
  it('publishes the member’s book: at risk, renewals, overdue follow-ups, disputes — within 100 blocks', async () => {
    await slash(app, '/customer', 'claim acme corp -- I know their CFO', 'U0BOB');
    const view = (await openHome('U0ALICE'))!;
    expect(view.type).toBe('home');
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(visibleText(view)).toContain('6 accounts · 2 at risk · 2 renewing in 30 days · 2 follow-ups overdue');

    const atRisk = sectionText(view, 'At risk');
    expect(atRisk.indexOf('*Red Co*')).toBeGreaterThanOrEqual(0);
    expect(atRisk.indexOf('*Yellow Co*')).toBeGreaterThan(atRisk.indexOf('*Red Co*'));
    expect(atRisk).not.toContain('Green Co');

    const renewals = sectionText(view, 'Renewals in the next 30 days');
    expect(renewals.indexOf('*Red Co*')).toBeGreaterThanOrEqual(0);
    expect(renewals.indexOf('*Renew Soon*')).toBeGreaterThan(renewals.indexOf('*Red Co*'));
    expect(renewals).toContain('in 11 days');
    expect(renewals).not.toContain('Yellow Co');

    const overdue = sectionText(view, 'Overdue follow-ups');
    expect(overdue).toContain('*Red Co* · tier A · never touched (every 30 days expected)');
    expect(overdue).toContain('*Green Co* · tier A · last touch 40 days ago (every 30 days expected)');
    expect(overdue).not.toContain('Yellow Co'); // tier B, touched 10 days ago
    expect(overdue).not.toContain('Renew Soon'); // unscored: the loosest cadence

    const disputes = sectionText(view, 'Open ownership disputes');
    expect(disputes).toContain('*Acme Corp* · claimed from you by <@U0BOB>');
  });

  it('keeps hostile customer names inert', async () => {
    const view = (await openHome('U0ALICE'))!;
    const mrkdwn = mrkdwnText(view.blocks);
    expect(mrkdwn).not.toContain('<!channel>');
  });

  it('shows managers the disputes awaiting them', async () => {
    const view = (await openHome('U0MANAGER'))!;
    expect(sectionText(view, 'Open ownership disputes')).toContain('<@U0BOB> claims it from <@U0ALICE> — awaiting a manager');
  });

  it('welcomes a non-member with how to be added', async () => {
    const view = (await openHome('U0STRANGER'))!;
    expect(view.blocks[0].text.text).toBe('Welcome to retain');
    expect(visibleText(view)).toContain('retain member add U0STRANGER --team &lt;team&gt; --role rep');
  });

  it('ignores the Messages tab', async () => {
    await openHome('U0ALICE', 'messages');
  });
});
