import fc from 'fast-check';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/ids.js';
import { SIGNING_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { testCalendar } from '../helpers/clock.js';
import { slash } from '../helpers/interact.js';
import { visibleText } from '../helpers/text.js';
import { buttonClick, interactiveBody, postSigned, slashBody } from '../helpers/signed.js';

/**
 * Requests on POST /slack/events as production gets them: malformed but
 * correctly signed bodies, NUL characters in what people type, replays and
 * requests from the future, and clicks on forged message containers.
 */
let app: TestApp;
// The app's day follows the real date (imports stamp rows with the database's now()).
const { clock } = testCalendar('10:00:00Z');

beforeAll(async () => {
  app = await startTestApp('slackreq', { roles: ['web', 'worker'], clock });
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, sampleCustomers());
});
afterAll(async () => app?.stop());

const healthy = async () => (await fetch(`${app.baseUrl}/healthz`)).status;
const feedbackRows = async () =>
  Number(
    (
      await app.db.db
        .selectFrom('feedback')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
const interactionRows = async () =>
  Number(
    (
      await app.db.db
        .selectFrom('interactions')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
let seq = 0;
const responseUrl = () => `${app.slack.responseBase}/req${++seq}`;
const answered = (url: string) => app.slack.responses.filter((r) => `${app.slack.responseBase}/${r.id}` === url);

describe('a correctly signed body that is not what Slack sends', () => {
  const cases: [string, string, string][] = [
    ['JSON null', 'null', 'application/json'],
    ['JSON array', '[]', 'application/json'],
    ['JSON string', '""', 'application/json'],
    ['JSON number', '42', 'application/json'],
    ['truncated JSON', '{"type":"event_callback","event":{"type":', 'application/json'],
    ['empty body', '', 'application/json'],
    ['an object Slack never sends', '{"hello":"world"}', 'application/json'],
    ['form payload=null', 'payload=null', 'application/x-www-form-urlencoded'],
    ['form payload=[]', 'payload=%5B%5D', 'application/x-www-form-urlencoded'],
    ['form payload twice', 'payload=%7B%7D&payload=%7B%7D', 'application/x-www-form-urlencoded'],
    ['form payload of an unknown type', `payload=${encodeURIComponent('{"type":"block_actions","user":null}')}`, 'application/x-www-form-urlencoded'],
    ['form without a command', 'text=hello&user_id=U1', 'application/x-www-form-urlencoded'],
    ['form with a charset (Bolt would read it as JSON)', 'command=%2Fcustomer&user_id=U1', 'application/x-www-form-urlencoded; charset=utf-8'],
  ];

  it.each(cases)('%s → 400, and the app keeps serving', async (_label, body, contentType) => {
    const res = await postSigned(app.eventsUrl, SIGNING_SECRET, body, { contentType });
    expect(res.status).toBe(400);
    expect(await healthy()).toBe(200);
  });

  it('any signed body gets a 2xx or 4xx answer, never takes the process down', async () => {
    const contentType = fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain');
    const slackish = fc.record(
      {
        type: fc.constantFrom(
          'block_actions',
          'view_submission',
          'view_closed',
          'shortcut',
          'message_action',
          'block_suggestion',
          'event_callback',
          'url_verification',
          'nope',
        ),
        user: fc.oneof(fc.constant(null), fc.record({ id: fc.oneof(fc.string(), fc.integer()) })),
        actions: fc.oneof(fc.constant(null), fc.array(fc.record({ action_id: fc.oneof(fc.string(), fc.constant(null)) }), { maxLength: 2 })),
        view: fc.oneof(fc.constant(null), fc.jsonValue()),
        event: fc.oneof(fc.constant(null), fc.jsonValue()),
        challenge: fc.oneof(fc.string(), fc.integer()),
      },
      { requiredKeys: ['type'] },
    );
    const body = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
      slackish.map((v) => JSON.stringify(v)),
      slackish.map((v) => `payload=${encodeURIComponent(JSON.stringify(v))}`),
      fc.dictionary(fc.constantFrom('command', 'user_id', 'text', 'payload', 'ssl_check', 'x'), fc.string()).map((d) => new URLSearchParams(d).toString()),
    );
    await fc.assert(
      fc.asyncProperty(body, contentType, async (b, type) => {
        const res = await postSigned(app.eventsUrl, SIGNING_SECRET, b, { contentType: type });
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
    expect(await healthy()).toBe(200);
    const r = await slash(app, '/customer', 'globex', 'U0BOB');
    expect(visibleText(r)).toContain('Globex');
  }, 60_000);
});

describe('a request target the URL parser cannot read', () => {
  it.each(['//', 'http://[', 'http://a:99999/x'])('GET %s → 400, and the app keeps serving', async (target) => {
    const status = await new Promise<string>((resolve, reject) => {
      const s = createConnection(Number(new URL(app.baseUrl).port), '127.0.0.1', () =>
        s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      );
      let data = '';
      s.on('data', (c) => (data += String(c)));
      s.on('end', () => resolve(data.split('\r\n')[0] ?? ''));
      s.on('error', reject);
    });
    expect(status).toBe('HTTP/1.1 400 Bad Request');
    expect(await healthy()).toBe(200);
  });
});

describe('NUL characters in what a person types', () => {
  it('a slash command with U+0000 gets the normal answer', async () => {
    const r = await slash(app, '/customer', 'glo\u0000bex', 'U0BOB');
    expect(visibleText(r)).not.toContain('Something went wrong');
    expect(visibleText(r)).toContain('Globex');
  });

  it('feedback with U+0000 is stored without it', async () => {
    const r = await slash(app, '/feedback', 'globex: the export\u0000 is slow', 'U0ALICE');
    expect(visibleText(r)).toContain('Logged a');
    const row = await app.db.db.selectFrom('feedback').select('text').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row.text).toBe('the export is slow');
  });
});

describe('replays and the signature window', () => {
  it('refuses a request stamped six minutes ahead, and one six minutes old', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now + 6 * 60, now - 6 * 60]) {
      const url = responseUrl();
      const res = await postSigned(app.eventsUrl, SIGNING_SECRET, slashBody({ command: '/customer', text: 'globex', userId: 'U0BOB', responseUrl: url }), {
        timestamp,
      });
      expect(res.status).toBe(401);
      await new Promise((r) => setTimeout(r, 200));
      expect(answered(url)).toHaveLength(0);
    }
  });

  it('accepts a request stamped a minute ahead (clock skew)', async () => {
    const url = responseUrl();
    const res = await postSigned(app.eventsUrl, SIGNING_SECRET, slashBody({ command: '/customer', text: 'globex', userId: 'U0BOB', responseUrl: url }), {
      timestamp: Math.floor(Date.now() / 1000) + 60,
    });
    expect(res.status).toBe(200);
    await app.slack.waitFor(() => answered(url).length === 1);
  });

  it('a replayed /feedback is answered without writing twice', async () => {
    const before = await feedbackRows();
    const url = responseUrl();
    const body = slashBody({ command: '/feedback', text: 'globex: the dashboard times out', userId: 'U0ALICE', responseUrl: url });
    const timestamp = Math.floor(Date.now() / 1000);
    const first = await postSigned(app.eventsUrl, SIGNING_SECRET, body, { timestamp });
    const again = await postSigned(app.eventsUrl, SIGNING_SECRET, body, { timestamp });
    expect([first.status, again.status]).toEqual([200, 200]);
    await app.slack.waitFor(() => answered(url).length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(answered(url)).toHaveLength(1);
    expect(await feedbackRows()).toBe(before + 1);
  });

  it('a replayed /customer log records one interaction', async () => {
    const before = await interactionRows();
    const url = responseUrl();
    const body = slashBody({ command: '/customer', text: 'log globex call went through the quote', userId: 'U0BOB', responseUrl: url });
    const timestamp = Math.floor(Date.now() / 1000);
    await Promise.all([postSigned(app.eventsUrl, SIGNING_SECRET, body, { timestamp }), postSigned(app.eventsUrl, SIGNING_SECRET, body, { timestamp })]);
    await app.slack.waitFor(() => answered(url).length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await interactionRows()).toBe(before + 1);
  });
});

describe('a click on a forged message container', () => {
  it('a refused Approve changes nothing; a manager’s decision edits only the message the bot posted', async () => {
    await slash(app, '/customer', 'claim globex -- I ran their last QBR', 'U0ALICE');
    await app.slack.waitFor(() => app.slack.posted.some((p) => p.channel === 'C0EMEA' && visibleText(p).includes('claims *Globex*')), 30_000);
    const post = app.slack.posted.find((p) => p.channel === 'C0EMEA' && visibleText(p).includes('claims *Globex*'))!;
    const value = (post.blocks as any[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements)[0].value as string;
    const dispute = () => app.db.db.selectFrom('disputes').selectAll().where('id', '=', value).executeTakeFirstOrThrow();
    const before = await dispute();

    const forged = { channelId: 'C0ELSEWHERE', messageTs: '1700000000.000001', message: { ts: '1700000000.000001', text: 'not ours', blocks: [] } };
    const url = responseUrl();
    const refused = await postSigned(
      app.eventsUrl,
      SIGNING_SECRET,
      interactiveBody(buttonClick({ actionId: ACTIONS.approveDispute, value, userId: 'U0BOB', responseUrl: url, ...forged })),
    );
    expect(refused.status).toBe(200);
    await app.slack.waitFor(() => answered(url).length === 1);
    expect(visibleText(answered(url)[0]!.body as any)).toContain('Only managers and admins can approve or reject');
    expect(await dispute()).toEqual(before);

    const decidedUrl = responseUrl();
    await postSigned(
      app.eventsUrl,
      SIGNING_SECRET,
      interactiveBody(buttonClick({ actionId: ACTIONS.approveDispute, value, userId: 'U0MANAGER', responseUrl: decidedUrl, ...forged })),
    );
    await app.slack.waitFor(() => answered(decidedUrl).length === 1);
    await app.slack.waitFor(() => app.slack.updates.some((u) => u.ts === post.ts));
    expect(app.slack.updates.filter((u) => u.channel === 'C0ELSEWHERE' || u.ts === forged.messageTs)).toHaveLength(0);
    expect(await dispute()).toMatchObject({ status: 'approved', channel_id: 'C0EMEA', message_ts: post.ts });
  }, 45_000);
});
