import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotification } from '../../src/alerts/outbox.service.js';
import { upsertTeam } from '../../src/customers/roster.repository.js';
import { sendDigest, syncDigestSchedules } from '../../src/digest/digest.service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testCalendar } from '../helpers/clock.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { loadCustomersCsv, seedRoster } from '../helpers/fixtures.js';
import { visibleText } from '../helpers/text.js';
import { customerId, postedWith, until, writeScores } from './alerts.fixtures.js';

// 08:30 UTC is 09:30 in Berlin (10:30 in summer), past EMEA's digest hour 9,
// and 16:30 in Shanghai: the same calendar day in both teams.
// A failed delivery is stamped with the wall clock and the digest lists the
// last 24 hours' failures: the app's now is at most a day after the real one.
const cal = testCalendar('08:30:00Z', { aheadBy: 0 });
const { clock } = cal;
const hoursAgo = (h: number) => new Date(cal.at(0).getTime() - h * 3600_000);
/** A literal piece of an expected pattern. */
const lit = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
let db: TestDb;
let app: TestApp;
let roster: Awaited<ReturnType<typeof seedRoster>>;

const BOOK = `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
D1,Red Today,d1.example,pro,100000,USD,${cal.date(189)},U0ALICE,emea
D2,Big Mover,d2.example,pro,50000,USD,${cal.date(189)},U0BOB,emea
D3,Renews Soon,d3.example,pro,40000,USD,${cal.date(5)},U0ALICE,emea
D4,Passed By,d4.example,pro,30000,USD,${cal.date(-4)},U0BOB,emea
D5,Tier A Quiet,d5.example,enterprise,300000,USD,${cal.date(281)},U0ALICE,emea
D6,Nobody's,d6.example,basic,8000,USD,,,emea
D7,Disputed,d7.example,pro,20000,USD,${cal.date(250)},U0ALICE,emea
D8,Renewed Earlier,d8.example,pro,10000,USD,${cal.date(325)},U0BOB,emea
`;

const digests = (a: TestApp) => postedWith(a, 'digest:');

beforeAll(async () => {
  db = await createTestDb('digest');
  roster = await seedRoster(db);
  await loadCustomersCsv(db, BOOK);
  await writeScores(db, hoursAgo(24 * 9), [
    { name: 'Red Today', health: 55 },
    { name: 'Big Mover', health: 88 },
  ]);
  await writeScores(db, hoursAgo(24 * 3), [{ name: 'Big Mover', health: 70 }]);
  await writeScores(db, hoursAgo(3), [
    { name: 'Red Today', health: 33 },
    { name: 'Big Mover', health: 58 },
    { name: 'Tier A Quiet', health: 71, tier: 'A' },
    { name: 'Renews Soon', health: 62, tier: 'B' },
  ]);
  const ids = Object.fromEntries(
    await Promise.all(['Tier A Quiet', 'Disputed', 'Red Today', 'Renewed Earlier'].map(async (n) => [n, await customerId(db, n)])),
  );
  await db.db
    .insertInto('interactions')
    .values({
      customer_id: ids['Tier A Quiet']!,
      author_slack_id: 'U0ALICE',
      kind: 'call',
      note: '',
      occurred_at: hoursAgo(24 * 50),
      created_at: hoursAgo(24 * 50),
    })
    .execute();
  await db.db
    .insertInto('disputes')
    .values({
      customer_id: ids.Disputed!,
      claimant_member_id: roster.bob.id,
      owner_member_id: roster.alice.id,
      reason: 'I run their QBRs',
      opened_at: hoursAgo(24 * 4),
    })
    .execute();
  await db.db
    .insertInto('feedback')
    .values({
      customer_id: ids['Red Today']!,
      author_slack_id: 'U0BOB',
      kind: 'complaint',
      sentiment: -0.8,
      text: 'Exports have been failing all week <!channel>',
      created_at: hoursAgo(5),
    })
    .execute();
  await db.db
    .insertInto('renewals')
    .values({
      customer_id: ids['Renewed Earlier']!,
      renewal_date: cal.quarterStart(),
      outcome: 'renewed',
      team_id: roster.emea.id,
      decided_at: hoursAgo(24 * 40),
      created_at: hoursAgo(24 * 40),
    })
    .execute();
  app = await startTestApp('digest', { roles: ['web', 'worker'], clock, db });
});
afterAll(async () => {
  await app?.stop();
  await db?.drop();
});

describe('daily team digest', () => {
  it('lists what needs attention: one table of accounts with sparklines, compact lines for the rest — and failed notifications', async () => {
    app.slack.failChannel('C0GONE', 'channel_not_found');
    const { id } = await enqueueNotification(app.running.ctx, {
      dedupeKey: 'test-gone',
      kind: 'churn_warning',
      channel: 'C0GONE',
      text: 'x',
      teamId: roster.emea.id,
    });
    await until(async () => (await db.db.selectFrom('notifications').select('status').where('id', '=', id).executeTakeFirst())?.status === 'failed');

    await app.running.ctx.queues!.add('digest', { teamId: roster.emea.id });
    await app.slack.waitFor(() => digests(app).length === 1);
    const post = digests(app)[0]!;
    expect(post.channel).toBe('C0EMEA');
    expect(post.metadata?.event_payload.key).toBe(`digest:${roster.emea.id}:${cal.today}`);
    const text = visibleText(post.blocks);
    expect(text).toContain(`EMEA digest — ${cal.withWeekday(0)}`);
    expect(text).toContain('Why | Account | Health | Trend | Detail | ARR | Owner');
    expect(text).toContain('🔴 Turned red | Red Today | 55 → 33 | – | entered the red band | $100.0K | <@U0ALICE>');
    expect(text).toMatch(/📈 Mover \| Big Mover \| 58 \(-30\) \| [▁▂▃▄▅▆▇█]+ \| falling \|/);
    expect(text).toMatch(new RegExp(`🔔 Renewal \\| Renews Soon \\| .* \\| ${lit(cal.short(5))} \\(in 5 days\\)`));
    expect(text).toMatch(/⏰ Overdue, tier A \| Tier A Quiet \| – \| – \| no touch in 50 days \|/);
    expect(text).toMatch(/🚨 \*escalated\* \*Disputed\*: <@U0BOB> claims it from <@U0ALICE>, open 4 days/);
    expect(text).toMatch(/🙋 Unowned \| Nobody's \| – \| – \| no owner: claim it \| \$8,000 \| unowned/);
    expect(text).toMatch(/complaint on \*Red Today\* by <@U0BOB>: “Exports have been failing all week &lt;!channel&gt;”/);
    expect(text).toMatch(new RegExp(`⌛ No outcome \\| Passed By \\| .* \\| renewal was due ${lit(cal.short(-4))} \\(4 days ago\\)`));
    expect(text).toMatch(/Notifications that failed\*\n• churn warning to <#C0GONE>: `channel_not_found`/);
    expect(text).toContain(`Renewal rate ${cal.quarter(0)}: *100%* (1 of 1 decided)`);
    expect(post.blocks.length).toBeLessThanOrEqual(50);
    // Notifications and clients without tables read the same rows in the message's text.
    expect(post.text).toContain('🔴 Turned red · Red Today · 55 → 33 · entered the red band · $100.0K · @U0ALICE');
  });

  it('posts once per team per local day: a second run, two workers at once, the catch-up', async () => {
    await Promise.all([sendDigest(app.running.ctx, roster.emea.id), sendDigest(app.running.ctx, roster.emea.id)]);
    await app.running.ctx.queues!.add('digest', { teamId: roster.emea.id }, { jobId: 'again-1' });
    await app.running.ctx.queues!.add('digestFanout', { onlyDue: true });
    await new Promise((r) => setTimeout(r, 800));
    expect(digests(app)).toHaveLength(1);
  });

  it('a team with nothing to see gets a one-line digest', async () => {
    await app.running.ctx.queues!.add('digest', { teamId: roster.apac.id });
    await app.slack.waitFor(() => digests(app).some((p) => p.channel === 'C0APAC'));
    const quiet = digests(app).find((p) => p.channel === 'C0APAC')!;
    expect(quiet.blocks).toHaveLength(1);
    // Shanghai is on the same day too (16:30)
    expect(quiet.text).toBe(`APAC digest — ${cal.withWeekday(0)}: nothing needs attention today.`);
  });

  it('after a restart on the same database, the same day still has one digest', async () => {
    const before = digests(app).length;
    await app.stop();
    app = await startTestApp('digest2', { roles: ['web', 'worker'], clock, db });
    await app.running.ctx.queues!.add('digest', { teamId: roster.emea.id });
    await app.running.ctx.queues!.add('digest', { teamId: roster.apac.id });
    await new Promise((r) => setTimeout(r, 800));
    expect(digests(app)).toHaveLength(0);
    const rows = await db.db.selectFrom('notifications').select('dedupe_key').where('kind', '=', 'digest').execute();
    expect(rows.map((r) => r.dedupe_key).sort()).toEqual([`digest:${roster.apac.id}:${cal.today}`, `digest:${roster.emea.id}:${cal.today}`].sort());
    expect(before).toBe(2);
    // the next local day is a new digest
    clock.set(cal.at(1));
    await app.running.ctx.queues!.add('digest', { teamId: roster.emea.id });
    await app.slack.waitFor(() => digests(app).length === 1);
    expect(digests(app)[0]!.metadata?.event_payload.key).toBe(`digest:${roster.emea.id}:${cal.date(1)}`);
    clock.set(cal.at(0));
  });

  it("one scheduler per team at its local hour; changing the team's tz or hour moves it", async () => {
    const scans = app.running.ctx.queues!.queue('scans');
    const digestSchedulers = async () => (await scans.getJobSchedulers(0, -1, true)).filter((s) => (s.key ?? '').startsWith('digest-team-'));
    const before = await digestSchedulers();
    expect(before.map((s) => [s.key, s.pattern, s.tz]).sort()).toEqual(
      [
        [`digest-team-${roster.emea.id}`, '0 9 * * *', 'Europe/Berlin'],
        [`digest-team-${roster.apac.id}`, '0 9 * * *', 'Asia/Shanghai'],
      ].sort(),
    );
    const names = (await scans.getJobSchedulers(0, -1, true)).map((s) => s.key);
    expect(names).toEqual(expect.arrayContaining(['renewal-scan', 'schedule-sync']));

    // what `retain team add emea --tz America/New_York --digest-hour 7` does, then the periodic sync
    await upsertTeam(db.db, { key: 'emea', name: 'EMEA', channelId: 'C0EMEA', tz: 'America/New_York', digestHour: 7 });
    await app.running.ctx.queues!.add('syncSchedules', {});
    await until(async () => (await digestSchedulers()).find((s) => s.key === `digest-team-${roster.emea.id}` && s.tz === 'America/New_York'));
    const after = await digestSchedulers();
    const emea = after.filter((s) => s.key === `digest-team-${roster.emea.id}`);
    expect(emea).toHaveLength(1);
    expect(emea[0]).toMatchObject({ pattern: '0 7 * * *', tz: 'America/New_York' });
    expect(after).toHaveLength(2);
    // a second sync changes nothing
    expect(await syncDigestSchedules(app.running.ctx)).toEqual({ upserted: [], removed: [] });
  });
});
