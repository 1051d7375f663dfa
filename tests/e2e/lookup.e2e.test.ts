import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/ids.js';
import { startTestApp, SIGNING_SECRET, type TestApp } from '../helpers/app.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { buttonClick, interactiveBody, postSigned, slashBody } from '../helpers/signed.js';
import { mrkdwnText, visibleText } from '../helpers/text.js';

let app: TestApp;
let n = 0;

/** Send `/customer <text>` as a signed request; return what the app sent to response_url. */
async function slash(text: string, userId = 'U0ALICE', command = '/customer') {
  const id = `r${++n}`;
  const res = await postSigned(app.eventsUrl, SIGNING_SECRET, slashBody({ command, text, userId, responseUrl: `${app.slack.responseBase}/${id}` }));
  expect(res.status).toBe(200);
  await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
  return app.slack.responses.find((r) => r.id === id)!.body as { text: string; blocks: any[]; response_type: string; replace_original?: boolean };
}

/** Clicks a button as `userId`; returns what the app sent to that click's response_url. */
async function click(actionId: string, value: string, userId: string, id: string) {
  const res = await postSigned(
    app.eventsUrl,
    SIGNING_SECRET,
    interactiveBody(buttonClick({ actionId, value, userId, responseUrl: `${app.slack.responseBase}/${id}` })),
  );
  expect(res.status).toBe(200);
  await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
  return app.slack.responses.find((r) => r.id === id)!.body as any;
}

beforeAll(async () => {
  app = await startTestApp('lookup');
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, sampleCustomers());
});
afterAll(async () => app?.stop());

describe('/customer over signed HTTP', () => {
  it('shows the card for a clear hit, ephemeral', async () => {
    const reply = await slash('globex');
    expect(reply.response_type).toBe('ephemeral');
    expect(reply.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Globex' } });
    expect(visibleText(reply)).toContain('<@U0BOB>');
    expect(visibleText(reply)).toContain('EMEA');
    expect(visibleText(reply)).toMatch(/€50(\.0)?K/);
  });

  it('forgives a typo', async () => {
    const reply = await slash('globx');
    expect(reply.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Globex' } });
  });

  it('finds Chinese names by part of the name', async () => {
    const reply = await slash('阿里巴巴');
    expect(reply.blocks[0]).toMatchObject({ type: 'header', text: { text: '阿里巴巴集团' } });
  });

  it('finds by domain and by external id', async () => {
    expect((await slash('initech.com')).blocks[0].text.text).toBe('Initech');
    expect((await slash('C3')).blocks[0].text.text).toBe('Globex');
  });

  it('offers a choice when ambiguous, and a click opens the card', async () => {
    const reply = await slash('acme');
    const buttons = reply.blocks.find((b) => b.type === 'actions').elements;
    expect(buttons.map((b: any) => b.text.text).sort()).toEqual(['Acme Corp (acme.com)', 'Acme Logistics (acmelog.com)']);
    const corp = buttons.find((b: any) => b.text.text.startsWith('Acme Corp'));
    expect(corp.action_id).toBe(ACTIONS.openCard);

    const card = await click(ACTIONS.openCard, corp.value, 'U0ALICE', 'click1');
    expect(card.replace_original).toBe(true);
    expect(card.blocks[0].text.text).toBe('Acme Corp');
  });

  it('finishes a command after a "which one?" pick, as the person who clicked', async () => {
    const reply = await slash('claim acme -- covering the account', 'U0BOB');
    const buttons = reply.blocks.find((b) => b.type === 'actions').elements;
    const logistics = buttons.find((b: any) => b.text.text.startsWith('Acme Logistics'));
    expect(logistics.action_id).toBe(ACTIONS.resumeCommand);
    const done = await click(ACTIONS.resumeCommand, logistics.value, 'U0BOB', 'resume1');
    expect(done.replace_original).toBe(true);
    expect(visibleText(done.blocks)).toContain('Acme Logistics');
    const owner = await app.db.db
      .selectFrom('customers as c')
      .innerJoin('members as m', 'm.id', 'c.owner_member_id')
      .select('m.slack_user_id')
      .where('c.external_id', '=', 'C2')
      .executeTakeFirst();
    expect(owner?.slack_user_id).toBe('U0BOB');
    const event = await app.db.db.selectFrom('ownership_events').select(['kind', 'reason']).where('kind', '=', 'claim').executeTakeFirst();
    expect(event).toEqual({ kind: 'claim', reason: 'covering the account' });
  });

  it('says nothing matched and suggests the nearest names', async () => {
    const reply = await slash('Acme Widgets International');
    expect(reply.text).toContain('No customer matches');
    expect(visibleText(reply)).toContain('Acme');
  });

  it('shows usage for help and for an empty command', async () => {
    expect(visibleText(await slash('help'))).toContain('/customer claim');
    expect(visibleText(await slash(''))).toContain('/customer log');
  });

  it('answers a malformed subcommand with the right form', async () => {
    const reply = await slash('log acme');
    expect(reply.text).toContain('What kind of touch');
    expect(visibleText(reply)).toContain('/customer log &lt;customer&gt;');
  });

  it('escapes customer-supplied text so <!channel> pings nobody', async () => {
    const reply = await slash('evil');
    // Slack only parses mrkdwn; every mrkdwn text must carry the name escaped.
    expect(mrkdwnText(reply.blocks)).not.toContain('<!channel>');
    expect(reply.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } }); // plain_text is inert
    expect(reply.text).not.toContain('<!channel>');
    expect(visibleText(reply)).toContain('evil.example');
  });

  it('rejects a bad signature with 401 and does nothing', async () => {
    const before = app.slack.responses.length;
    const res = await postSigned(
      app.eventsUrl,
      SIGNING_SECRET,
      slashBody({ command: '/customer', text: 'globex', userId: 'U0ALICE', responseUrl: `${app.slack.responseBase}/bad` }),
      { badSignature: true },
    );
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(app.slack.responses.length).toBe(before);
  });

  it('rejects a timestamp older than 5 minutes with 401', async () => {
    const old = Math.floor(Date.now() / 1000) - 6 * 60;
    const res = await postSigned(
      app.eventsUrl,
      SIGNING_SECRET,
      slashBody({ command: '/customer', text: 'globex', userId: 'U0ALICE', responseUrl: `${app.slack.responseBase}/old` }),
      { timestamp: old },
    );
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(app.slack.responses.some((r) => r.id === 'old')).toBe(false);
  });

  it('reports health of Postgres and Redis', async () => {
    const res = await fetch(`${app.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.checks.postgres.ok).toBe(true);
    expect(body.checks.redis.ok).toBe(true);
  });
});
