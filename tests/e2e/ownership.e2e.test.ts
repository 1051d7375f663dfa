import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalateDueDisputes } from '../../src/ownership/dispute.service.js';
import { ACTIONS } from '../../src/slack/ids.js';
import { startTestApp, SIGNING_SECRET, type TestApp } from '../helpers/app.js';
import { testCalendar } from '../helpers/clock.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { click, slash, type SeenReply } from '../helpers/interact.js';
import { postSigned, slashBody } from '../helpers/signed.js';
import { mrkdwnText, visibleText } from '../helpers/text.js';

let app: TestApp;
const cal = testCalendar('10:00:00Z');
const { clock } = cal;

const EXTRA = `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
C7,Freeze Co,freeze.example,pro,30000,USD,${cal.date(16)},,emea
C8,Umbrella,umbrella.com,pro,70000,USD,${cal.date(189)},U0ALICE,emea
`;

const customer = (name: string) =>
  app.db.db
    .selectFrom('customers as c')
    .leftJoin('members as m', 'm.id', 'c.owner_member_id')
    .select(['c.id', 'c.owner_member_id', 'm.slack_user_id as owner', 'c.team_id', 'c.data_changed_at'])
    .where('c.name', '=', name)
    .executeTakeFirstOrThrow();
const events = async (name: string) => {
  const c = await customer(name);
  return app.db.db.selectFrom('ownership_events').selectAll().where('customer_id', '=', c.id).orderBy('id').execute();
};
const disputes = async (name: string) => {
  const c = await customer(name);
  return app.db.db.selectFrom('disputes').selectAll().where('customer_id', '=', c.id).orderBy('id').execute();
};
const postedTo = (channel: string, needle: string) =>
  app.slack.posted.filter((p) => p.channel === channel && (p.text.includes(needle) || visibleText(p).includes(needle)));
const waitPosted = async (channel: string, needle: string, count = 1) => {
  // Posts to one channel are paced a second apart behind earlier ones: allow for a backlog on a loaded machine.
  await app.slack.waitFor(() => postedTo(channel, needle).length >= count, 45_000);
  return postedTo(channel, needle);
};
const buttonsOf = (blocks: any[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements);
const said = (r: SeenReply) => visibleText(r);

beforeAll(async () => {
  app = await startTestApp('ownership', { roles: ['web', 'worker'], clock });
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, sampleCustomers(cal.today));
  await loadCustomersCsv(app.db, EXTRA);
});
afterAll(async () => app?.stop());

describe('who may do what', () => {
  it('tells a Slack user who is not a member how to get added', async () => {
    for (const text of ['claim globex', 'mine', 'history globex', 'log globex call hello', 'release globex', 'assign globex <@U0BOB|bob>']) {
      const r = await slash(app, '/customer', text, 'U0STRANGER');
      expect(r.response_type).toBe('ephemeral');
      expect(said(r)).toContain('Ask an admin to add you');
      expect(said(r)).toContain('retain member add U0STRANGER --team');
    }
    expect((await customer('Globex')).owner).toBe('U0BOB');
  });
});

describe('/customer claim', () => {
  it('takes an unowned account of my team at once, audited, without a dispute', async () => {
    const r = await slash(app, '/customer', 'claim acme logistics -- they asked for me', 'U0BOB');
    expect(said(r)).toContain('You own *Acme Logistics* now');
    expect((await customer('Acme Logistics')).owner).toBe('U0BOB');
    const ev = await events('Acme Logistics');
    expect(ev.map((e) => [e.kind, e.actor_slack_id, e.reason])).toEqual([['claim', 'U0BOB', 'they asked for me']]);
    expect(new Date(ev[0]!.created_at).toISOString()).toBe(cal.at(0).toISOString());
    expect(await disputes('Acme Logistics')).toEqual([]);
  });

  it('says so when I already own it', async () => {
    const r = await slash(app, '/customer', 'claim acme logistics', 'U0BOB');
    expect(said(r)).toContain('You already own *Acme Logistics*');
    expect(await events('Acme Logistics')).toHaveLength(1);
  });

  it('refuses an account of another team, naming the team', async () => {
    const r = await slash(app, '/customer', 'claim 阿里巴巴', 'U0ALICE');
    expect(said(r)).toContain('belongs to team *APAC*');
    expect(said(r)).toContain('only members of APAC can claim it');
    expect((await customer('阿里巴巴集团')).owner).toBe('U0CHEN');
  });

  it('asks which customer when the name is ambiguous, and says when nothing matches', async () => {
    expect((await slash(app, '/customer', 'claim acme', 'U0BOB')).text).toContain('Several customers match');
    expect((await slash(app, '/customer', 'claim Nonexistent Widgets Ltd', 'U0BOB')).text).toContain('No customer matches');
    expect((await slash(app, '/customer', 'claim', 'U0BOB')).text).toContain('customer is missing');
  });
});

describe('dispute: claim → Approve', () => {
  let post: { channel: string; ts: string; text: string; blocks: unknown[] };

  it('opens a dispute on an owned account, posts the evidence to the team channel and tells the owner', async () => {
    await slash(app, '/customer', 'log globex call walked through the renewal quote', 'U0ALICE');
    const r = await slash(app, '/customer', 'claim globex -- I ran their last QBR', 'U0ALICE');
    expect(said(r)).toContain('owned by <@U0BOB>');
    expect(said(r)).toContain('<#C0EMEA>');
    expect(said(r)).toContain('<@U0BOB> has been told');

    post = (await waitPosted('C0EMEA', 'Globex'))[0]!;
    const text = visibleText(post);
    expect(text).toContain('<@U0ALICE> claims *Globex*, owned by <@U0BOB>');
    expect(text).toContain('I ran their last QBR');
    expect(text).toMatch(/€50(\.0)?K/);
    expect(text).toContain(cal.short(47)); // Globex's renewal
    expect(text).toContain('<@U0ALICE>: 1 touch (1 call), last today');
    expect(text).toContain('<@U0BOB>: no logged touches');
    expect(text).toContain('Owner’s last touch');
    const buttons = buttonsOf(post.blocks as any[]);
    expect(buttons.map((b: any) => b.action_id)).toEqual([ACTIONS.approveDispute, ACTIONS.rejectDispute]);

    const toOwner = await waitPosted('D0BOB', 'has claimed');
    expect(visibleText(toOwner[0]!)).toContain('<@U0ALICE> has claimed *Globex*, which you own');
    const [d] = await disputes('Globex');
    expect(d).toMatchObject({ status: 'open', channel_id: 'C0EMEA', reason: 'I ran their last QBR' });
  });

  it('allows one open dispute per account: a second claim says one is open', async () => {
    const r = await slash(app, '/customer', 'claim globex', 'U0MANAGER');
    expect(said(r)).toContain('already an open ownership dispute on *Globex*');
    expect(said(r)).toContain('<@U0ALICE>');
    const mine = await slash(app, '/customer', 'claim globex', 'U0ALICE');
    expect(said(mine)).toContain('Your claim on *Globex* is already waiting');
    expect(await disputes('Globex')).toHaveLength(1);
  });

  it('lets only a manager who is not a party decide', async () => {
    const value = buttonsOf(post.blocks as any[])[0].value as string;
    const byRep = await click(app, {
      actionId: ACTIONS.approveDispute,
      value,
      userId: 'U0BOB',
      channelId: post.channel,
      messageTs: post.ts,
      message: { ts: post.ts, text: post.text, blocks: post.blocks },
    });
    expect(said(byRep)).toContain('Only managers and admins can approve or reject');
    expect(said(byRep)).toContain('<@U0MANAGER>');
    expect(byRep.response_type).toBe('ephemeral');
    const byStranger = await click(app, { actionId: ACTIONS.approveDispute, value, userId: 'U0STRANGER', channelId: post.channel, messageTs: post.ts });
    expect(said(byStranger)).toContain('retain member add U0STRANGER');
    expect((await customer('Globex')).owner).toBe('U0BOB');
    expect(app.slack.updates).toHaveLength(0);
  });

  it('Approve by the manager moves the account, updates the message, and tells both sides', async () => {
    const value = buttonsOf(post.blocks as any[])[0].value as string;
    const r = await click(app, {
      actionId: ACTIONS.approveDispute,
      value,
      userId: 'U0MANAGER',
      channelId: post.channel,
      messageTs: post.ts,
      message: { ts: post.ts, text: post.text, blocks: post.blocks },
    });
    expect(said(r)).toContain('Approved: <@U0ALICE> owns *Globex* now');
    expect((await customer('Globex')).owner).toBe('U0ALICE');
    const ev = await events('Globex');
    expect(ev.at(-1)).toMatchObject({ kind: 'dispute_approved', actor_slack_id: 'U0MANAGER', reason: 'I ran their last QBR' });
    expect((await disputes('Globex'))[0]).toMatchObject({ status: 'approved', decided_by_slack_id: 'U0MANAGER', message_ts: post.ts });

    const update = app.slack.updates.find((u) => u.ts === post.ts && u.channel === 'C0EMEA')!;
    expect(update).toBeDefined();
    expect(visibleText(update)).toContain('*Approved* by <@U0MANAGER> — <@U0ALICE> owns *Globex* now');
    expect(buttonsOf(update.blocks as any[])).toHaveLength(0);
    expect(visibleText(update)).toContain('<@U0ALICE>: 1 touch (1 call)'); // the evidence stays

    await waitPosted('C0ALICE', 'approved your claim');
    expect(visibleText((await waitPosted('D0BOB', 'no longer yours'))[0]!)).toContain('*Globex* is no longer yours');
    const card = await slash(app, '/customer', 'globex', 'U0BOB');
    expect(said(card)).toContain('<@U0ALICE>');
    expect(said(card)).toContain('from <@U0BOB>');
  });

  it('a second click says it is already decided and changes nothing', async () => {
    const value = buttonsOf(post.blocks as any[])[0].value as string;
    const before = (await events('Globex')).length;
    const r = await click(app, { actionId: ACTIONS.rejectDispute, value, userId: 'U0MANAGER', channelId: post.channel, messageTs: post.ts });
    expect(said(r)).toContain('already approved');
    expect(await events('Globex')).toHaveLength(before);
  });
});

describe('dispute: claim → Reject', () => {
  it('Reject keeps the owner, updates the message and tells both sides', async () => {
    const r = await slash(app, '/customer', 'claim acme corp', 'U0BOB');
    expect(said(r)).toContain('owned by <@U0ALICE>');
    const [post] = await waitPosted('C0EMEA', 'Acme Corp');
    const value = buttonsOf(post!.blocks as any[]).find((b: any) => b.action_id === ACTIONS.rejectDispute).value;
    const rej = await click(app, {
      actionId: ACTIONS.rejectDispute,
      value,
      userId: 'U0MANAGER',
      channelId: 'C0EMEA',
      messageTs: post!.ts,
      message: { ts: post!.ts, text: post!.text, blocks: post!.blocks },
    });
    expect(said(rej)).toContain('Rejected: <@U0ALICE> keeps *Acme Corp*');
    expect((await customer('Acme Corp')).owner).toBe('U0ALICE');
    expect((await events('Acme Corp')).map((e) => e.kind)).toEqual(['import']);
    expect((await disputes('Acme Corp'))[0]!.status).toBe('rejected');
    const update = app.slack.updates.find((u) => u.ts === post!.ts)!;
    expect(visibleText(update)).toContain('*Rejected* by <@U0MANAGER> — <@U0ALICE> keeps *Acme Corp*');
    await waitPosted('D0BOB', 'rejected your claim on *Acme Corp*');
    await waitPosted('C0ALICE', 'you keep *Acme Corp*');
  });
});

describe('renewal freeze, escalation, assign supersedes', () => {
  it('a claim on an unowned account inside the renewal freeze becomes a dispute', async () => {
    const r = await slash(app, '/customer', 'claim freeze co', 'U0BOB');
    expect(said(r)).toContain('renews in 16 days — inside the 30-day renewal freeze');
    expect((await customer('Freeze Co')).owner).toBeNull();
    const [post] = await waitPosted('C0EMEA', 'Freeze Co');
    expect(visibleText(post!)).toContain('unowned but inside the 30-day renewal freeze');
    expect(visibleText(post!)).toContain('Reject: leave it unowned');
  });

  it('escalates once, after disputes.escalateAfterDays, by re-posting to the team channel', async () => {
    const ctx = app.running.ctx;
    expect((await escalateDueDisputes(ctx)).escalated).toEqual([]);
    clock.advanceDays(3);
    await ctx.queues!.add('expireDisputes', {});
    const [again] = await waitPosted('C0EMEA', 'Still undecided');
    expect(visibleText(again!)).toContain('Freeze Co');
    expect(visibleText(again!)).toContain('escalated');
    expect(buttonsOf(again!.blocks as any[])).toHaveLength(2);
    const [d] = await disputes('Freeze Co');
    expect(new Date(d!.escalated_at!).toISOString()).toBe(cal.at(3).toISOString());
    expect(d!.status).toBe('open');
    // Running again (a re-run job, a second worker) posts nothing more.
    expect((await escalateDueDisputes(ctx)).escalated).toEqual([]);
    await ctx.queues!.add('expireDisputes', {});
    await new Promise((r) => setTimeout(r, 500));
    expect(postedTo('C0EMEA', 'Still undecided')).toHaveLength(1);
  });

  it('assign is for managers only, and says who can', async () => {
    const r = await slash(app, '/customer', 'assign freeze co <@U0BOB|bob>', 'U0BOB');
    expect(said(r)).toContain('Only managers and admins can assign accounts');
    expect(said(r)).toContain('<@U0MANAGER>');
    expect((await customer('Freeze Co')).owner).toBeNull();
  });

  it('assign by a manager is immediate, audited, closes the dispute and tells the people concerned', async () => {
    const r = await slash(app, '/customer', 'assign freeze co <@U0ALICE|alice> -- covering the renewal', 'U0MANAGER');
    expect(said(r)).toContain('*Freeze Co* now belongs to <@U0ALICE>');
    expect(said(r)).toContain('The open ownership dispute on it is closed');
    expect((await customer('Freeze Co')).owner).toBe('U0ALICE');
    expect((await events('Freeze Co')).map((e) => [e.kind, e.actor_slack_id, e.reason])).toEqual([['assign', 'U0MANAGER', 'covering the renewal']]);
    expect((await disputes('Freeze Co'))[0]).toMatchObject({ status: 'superseded', decided_by_slack_id: 'U0MANAGER' });
    await waitPosted('C0ALICE', 'assigned *Freeze Co* to you');
    await waitPosted('D0BOB', 'Your claim on *Freeze Co* was closed');
    // Both posts of the dispute (first and escalated) lose their buttons.
    const posts = postedTo('C0EMEA', 'Freeze Co');
    expect(posts).toHaveLength(2);
    for (const p of posts) {
      const u = app.slack.updates.find((x) => x.ts === p.ts)!;
      expect(visibleText(u)).toContain('*Closed*');
      expect(buttonsOf(u.blocks as any[])).toHaveLength(0);
    }
  });

  it('reassigning tells both the old and the new owner', async () => {
    const r = await slash(app, '/customer', 'assign freeze co <@U0BOB|bob>', 'U0MANAGER');
    expect(said(r)).toContain('now belongs to <@U0BOB> (was <@U0ALICE>)');
    expect(said(r)).toContain('Told: <@U0BOB>, <@U0ALICE>');
    await waitPosted('D0BOB', 'assigned *Freeze Co* to you (from <@U0ALICE>)');
    await waitPosted('C0ALICE', 'reassigned *Freeze Co* from you to <@U0BOB>');
  });

  it('refuses bad assignments with the reason', async () => {
    expect(said(await slash(app, '/customer', 'assign globex <@U0NOBODY|x>', 'U0MANAGER'))).toContain('<@U0NOBODY> is not a retain member');
    expect(said(await slash(app, '/customer', 'assign globex @alice', 'U0MANAGER'))).toContain('could not read that @mention');
    expect(said(await slash(app, '/customer', 'assign globex', 'U0MANAGER'))).toContain('Mention the new owner');
    expect(said(await slash(app, '/customer', 'assign 阿里巴巴 <@U0BOB|bob>', 'U0MANAGER'))).toContain('belongs to team APAC; you manage EMEA');
    expect(said(await slash(app, '/customer', 'assign globex <@U0CHEN|chen>', 'U0MANAGER'))).toContain('<@U0CHEN> is in team APAC, not EMEA');
    expect(said(await slash(app, '/customer', 'assign globex <@U0ALICE|alice>', 'U0MANAGER'))).toContain('already belongs to <@U0ALICE>');
    expect((await customer('Globex')).owner).toBe('U0ALICE');
  });
});

describe('/customer release', () => {
  it('refuses someone who is neither owner nor manager, saying who can', async () => {
    const r = await slash(app, '/customer', 'release globex', 'U0BOB');
    expect(said(r)).toContain('You do not own *Globex* (<@U0ALICE> does)');
    expect(said(r)).toContain('Only its owner, a manager of EMEA (<@U0MANAGER>) or an admin can release it');
  });

  it('the owner releases; a manager releases for someone, who is told', async () => {
    expect(said(await slash(app, '/customer', 'release globex', 'U0ALICE'))).toContain('You released *Globex*; it is unowned now');
    expect((await customer('Globex')).owner).toBeNull();
    expect(said(await slash(app, '/customer', 'release globex', 'U0ALICE'))).toContain('*Globex* has no owner');
    const r = await slash(app, '/customer', 'release umbrella', 'U0MANAGER');
    expect(said(r)).toContain('Released *Umbrella* from <@U0ALICE>');
    await waitPosted('C0ALICE', 'released *Umbrella* from you; it is unowned now');
    expect((await events('Umbrella')).at(-1)).toMatchObject({ kind: 'release', to_member_id: null, actor_slack_id: 'U0MANAGER' });
  });
});

describe('/customer history', () => {
  it('lists who, from, to, why and when, newest first', async () => {
    const r = await slash(app, '/customer', 'history globex', 'U0CHEN');
    const text = said(r);
    expect(r.blocks[0].text.text).toBe('Ownership history: Globex');
    const released = text.indexOf('released: <@U0ALICE> → _nobody_ · by <@U0ALICE>');
    const approved = text.indexOf('claim approved: <@U0BOB> → <@U0ALICE> · by <@U0MANAGER> · “I ran their last QBR”');
    const imported = text.indexOf('imported: _nobody_ → <@U0BOB>');
    expect(released).toBeGreaterThanOrEqual(0);
    expect(approved).toBeGreaterThan(released);
    expect(imported).toBeGreaterThan(approved);
    expect(text).toContain(cal.short(0));
  });

  it('keeps a hostile customer name inert', async () => {
    const r = await slash(app, '/customer', 'history evil', 'U0ALICE');
    expect(mrkdwnText(r.blocks)).not.toContain('<!channel>');
    expect(r.text).not.toContain('<!channel>');
    const claim = await slash(app, '/customer', 'claim evil', 'U0ALICE');
    expect(mrkdwnText(claim.blocks)).not.toContain('<!channel>');
    expect(mrkdwnText(claim.blocks)).toContain('&lt;!channel&gt; Evil &amp; Co');
  });
});

describe('/customer log', () => {
  it('records the touch, bumps data_changed_at and confirms', async () => {
    const before = await customer('Initech');
    const r = await slash(app, '/customer', 'log initech meeting kickoff <!here> with their CTO', 'U0BOB');
    expect(said(r)).toContain('Logged a *meeting* with *Initech*');
    expect(mrkdwnText(r.blocks)).not.toContain('<!here>');
    const after = await customer('Initech');
    expect(new Date(after.data_changed_at).getTime()).toBe(clock.now().getTime());
    expect(new Date(after.data_changed_at).getTime()).not.toBe(new Date(before.data_changed_at).getTime());
    const rows = await app.db.db.selectFrom('interactions').selectAll().where('customer_id', '=', after.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'meeting', author_slack_id: 'U0BOB', note: 'kickoff <!here> with their CTO' });
  });

  it('answers a missing kind or text with the right form', async () => {
    expect(said(await slash(app, '/customer', 'log initech', 'U0BOB'))).toContain('What kind of touch');
    expect(said(await slash(app, '/customer', 'log initech call', 'U0BOB'))).toContain('Add a few words');
  });
});

describe('/customer mine', () => {
  beforeAll(async () => {
    const rows = Array.from(
      { length: 25 },
      (_, i) => `M${i},Mine ${String(i).padStart(2, '0')},mine${i}.example,pro,${1000 + i},USD,${cal.date(60 + 30 * (i % 9))},U0CHEN,apac`,
    );
    await loadCustomersCsv(app.db, `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team\n${rows.join('\n')}\n`);
    // Scores for the first 20: health 80, 77, …; the last 5 (and 阿里巴巴) stay unscored.
    for (let i = 0; i < 20; i++) {
      const c = await customer(`Mine ${String(i).padStart(2, '0')}`);
      const health = 80 - i * 3;
      await sql`INSERT INTO customer_scores (customer_id, run_id, scored_at, health, band, tier)
        VALUES (${c.id}, 1, now(), ${health}, ${health >= 70 ? 'green' : health >= 40 ? 'yellow' : 'red'}, ${i % 3 === 0 ? 'A' : 'B'})`.execute(app.db.db);
    }
  });

  it('lists my accounts riskiest first, paginated within Block Kit limits', async () => {
    const p1 = await slash(app, '/customer', 'mine', 'U0CHEN');
    expect(p1.blocks[0].text.text).toBe('My accounts (26)');
    expect(p1.blocks.length).toBeLessThanOrEqual(50);
    const rowsOf = (r: SeenReply) =>
      visibleText(r.blocks.filter((b: any) => b.type === 'table'))
        .split('\n')
        .slice(1);
    const lines = rowsOf(p1);
    expect(lines).toHaveLength(20);
    expect(lines[0]).toMatch(/^🔴 23 red \| Mine 19 \|/);
    expect(lines[1]).toContain('| Mine 18 |');
    expect(lines[0]).toMatch(/\| \w{3} \d{1,2}, \d{4} \(in \d+ days\) \|/);
    expect(lines[0]).toMatch(/\| never$/);
    expect(said(p1)).toContain('page 1 of 2');
    expect(said(p1)).toContain('/customer mine 2');
    const p2 = await slash(app, '/customer', 'mine 2', 'U0CHEN');
    const lines2 = rowsOf(p2);
    expect(lines2).toHaveLength(6);
    expect(lines2.at(-1)).toContain('not scored');
    expect(said(await slash(app, '/customer', 'mine 9', 'U0CHEN'))).toContain('There are only 2 pages');
  });

  it('says so when I own nothing', async () => {
    expect(said(await slash(app, '/customer', 'mine', 'U0MANAGER'))).toContain('You own no accounts yet');
  });
});

describe('a claim whose claimant has left', () => {
  it('expires instead of handing the account to a former member', async () => {
    await slash(app, '/customer', 'claim acme corp -- second try', 'U0BOB');
    const post = (await waitPosted('C0EMEA', 'second try'))[0]!;
    await app.db.db.updateTable('members').set({ active: false }).where('slack_user_id', '=', 'U0BOB').execute();
    try {
      const value = buttonsOf(post.blocks as any[])[0].value as string;
      const r = await click(app, {
        actionId: ACTIONS.approveDispute,
        value,
        userId: 'U0MANAGER',
        channelId: 'C0EMEA',
        messageTs: post.ts,
        message: { ts: post.ts, text: post.text, blocks: post.blocks },
      });
      expect(said(r)).toContain('no longer an active member');
      expect((await customer('Acme Corp')).owner).toBe('U0ALICE');
      expect((await disputes('Acme Corp')).at(-1)!.status).toBe('expired');
      expect(visibleText(app.slack.updates.find((u) => u.ts === post.ts)!)).toContain('*Expired*');
    } finally {
      await app.db.db.updateTable('members').set({ active: true }).where('slack_user_id', '=', 'U0BOB').execute();
    }
  });
});

describe('any text, over HTTP', () => {
  it('answers every /customer and /feedback text within the ack, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/customer', '/feedback'),
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          fc.constantFrom('claim', 'assign', 'log', 'mine', 'history', 'release').chain((v) => fc.string().map((s) => `${v} ${s}`)),
        ),
        async (command, text) => {
          const id = `prop${Math.random().toString(36).slice(2)}`;
          const started = Date.now();
          const res = await postSigned(
            app.eventsUrl,
            SIGNING_SECRET,
            slashBody({ command, text, userId: 'U0MANAGER', responseUrl: `${app.slack.responseBase}/${id}` }),
          );
          expect(res.status).toBe(200);
          expect(Date.now() - started).toBeLessThan(3_000);
          await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id), 10_000);
          const reply = app.slack.responses.find((r) => r.id === id)!.body as { text?: string };
          expect(typeof reply.text).toBe('string');
          expect(reply.text).not.toMatch(/Something went wrong/);
        },
      ),
      { numRuns: 25 },
    );
  });
});
