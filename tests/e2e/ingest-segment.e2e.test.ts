import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { seedRoster } from '../helpers/fixtures.js';

/** POST /api/v1/segment with Segment tracking-API payloads, as Segment sends them. */
const WRITE_KEY = 'segment-write-key-0123456789';
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp('ingest_segment', { env: { API_TOKEN: WRITE_KEY } });
  await seedRoster(app.db);
});
afterAll(async () => app?.stop());

/** Segment's own auth: HTTP basic with the write key as user name and an empty password. */
const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

async function send(body: unknown, authorization: string | null = basic(WRITE_KEY)) {
  const res = await fetch(`${app.baseUrl}/api/v1/segment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

const signalsOf = (externalId: string) =>
  app.db.db
    .selectFrom('signals as s')
    .innerJoin('customers as c', 'c.id', 's.customer_id')
    .select(['s.kind', 's.value', 's.external_id', 's.source', 's.occurred_at'])
    .where('c.external_id', '=', externalId)
    .orderBy('s.occurred_at')
    .execute();
const count = async (table: 'signals' | 'customers' | 'segment_users') =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(app.db.db)).rows[0]!.n);

// Sample payloads shaped like analytics.js / analytics-node output.
const groupCall = {
  type: 'group',
  messageId: 'grp-1',
  userId: 'user-ada',
  groupId: 'acct-42',
  traits: { name: 'Lovelace Analytics', website: 'https://www.lovelace.io', plan: 'enterprise', arr: 48000, currency: 'eur', renewal_date: '2027-06-30' },
  timestamp: '2026-11-20T09:00:00.000Z',
  context: { library: { name: 'analytics-node', version: '6.0.0' } },
};
const trackOrder = {
  type: 'track',
  messageId: 'trk-order-1',
  userId: 'user-ada',
  event: 'Order Completed',
  properties: { revenue: 1250.5, currency: 'EUR', order_id: 'o-1' },
  timestamp: '2026-11-20T10:00:00.000Z',
};
const trackUsage = {
  type: 'track',
  messageId: 'trk-usage-1',
  userId: 'user-ada',
  event: 'Report Exported',
  properties: { format: 'pdf' },
  originalTimestamp: '2026-11-20T11:00:00.000Z',
};

describe('authentication', () => {
  it('accepts the write key as basic-auth user and as bearer; rejects others with 401', async () => {
    expect((await send({ batch: [] })).status).toBe(200);
    expect((await send({ batch: [] }, `Bearer ${WRITE_KEY}`)).status).toBe(200);
    const wrong = await send({ batch: [groupCall] }, basic('not-the-write-key'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await send({ batch: [groupCall] }, null)).status).toBe(401);
    expect(await count('customers')).toBe(0);
  });
});

describe('group, track, identify, batch', () => {
  it('group: creates the customer from traits and links the user', async () => {
    const res = await send(groupCall);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    const c = await app.db.db.selectFrom('customers').selectAll().where('external_id', '=', 'acct-42').executeTakeFirstOrThrow();
    expect(c).toMatchObject({ name: 'Lovelace Analytics', domain: 'lovelace.io', plan: 'enterprise', currency: 'EUR', renewal_date: '2027-06-30' });
    expect(Number(c.arr)).toBe(48000);
    const link = await app.db.db.selectFrom('segment_users').selectAll().where('user_id', '=', 'user-ada').executeTakeFirstOrThrow();
    expect(link.customer_id).toBe(c.id);
  });

  it('track: finds the customer through the learned userId; maps events to kinds and values', async () => {
    const res = await send(trackOrder);
    expect(res.json).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect((await send(trackUsage)).json.accepted).toBe(1);
    const signals = await signalsOf('acct-42');
    expect(signals.map((s) => [s.kind, s.value === null ? null : Number(s.value), s.external_id, s.source])).toEqual([
      ['order', 1250.5, 'trk-order-1', 'segment'],
      ['usage', null, 'trk-usage-1', 'segment'],
    ]);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toContain('retain_signals_ingested_total{kind="order",source="segment"} 1');
    expect(metrics).toContain('retain_signals_ingested_total{kind="usage",source="segment"} 1');
  });

  it('track: a replayed messageId changes nothing', async () => {
    const before = await count('signals');
    expect((await send(trackOrder)).json).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
    expect(await count('signals')).toBe(before);
  });

  it('track: context.groupId names the customer directly', async () => {
    const res = await send({ ...trackUsage, messageId: 'trk-ctx-1', userId: 'someone-new', context: { groupId: 'acct-42' } });
    expect(res.json.accepted).toBe(1);
  });

  it('identify: links a user by the company domain of their email; their tracks then match', async () => {
    const identify = {
      type: 'identify',
      messageId: 'idf-1',
      userId: 'user-grace',
      traits: { email: 'grace@lovelace.io', name: 'Grace' },
      timestamp: '2026-11-20T12:00:00Z',
    };
    expect((await send(identify)).json).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    expect((await send(identify)).json).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
    const track = await send({ ...trackUsage, messageId: 'trk-grace-1', userId: 'user-grace' });
    expect(track.json.accepted).toBe(1);
  });

  it('identify: a public mail domain names no customer', async () => {
    const res = await send({
      type: 'identify',
      messageId: 'idf-2',
      userId: 'user-anon',
      traits: { email: 'someone@gmail.com' },
      timestamp: '2026-11-20T12:00:00Z',
    });
    expect(res.json.accepted).toBe(0);
    expect(res.json.rejected).toEqual([{ index: 0, reason: expect.stringMatching(/no customer matches/) }]);
  });

  it('batch: a group and the tracks after it in one request; bad messages rejected by index', async () => {
    const batch = {
      batch: [
        {
          type: 'group',
          messageId: 'b-0',
          userId: 'user-linus',
          groupId: 'acct-77',
          traits: { name: 'Torvalds Kernel Co', domain: 'kernel.example', owner_slack_id: 'U0BOB' },
        },
        { type: 'track', messageId: 'b-1', userId: 'user-linus', event: 'Order Completed', properties: { revenue: '300' }, timestamp: '2026-11-21T08:00:00Z' },
        { type: 'track', messageId: 'b-2', userId: 'user-linus', event: 'Seat Active', timestamp: '2026-11-21T08:05:00Z' },
        { type: 'page', messageId: 'b-3', userId: 'user-linus', name: 'Pricing' },
        { type: 'track', messageId: 'b-4', userId: 'nobody-knows-me', event: 'Seat Active', timestamp: '2026-11-21T08:05:00Z' },
        { type: 'track', messageId: 'b-5', userId: 'user-linus', event: 'Seat Active' },
        { type: 'group', messageId: 'b-6', userId: 'user-x', groupId: 'acct-unknown', traits: { plan: 'pro' } },
        { type: 'group', messageId: 'b-7', groupId: 'acct-78', traits: { name: 'Bad Owner Inc', owner_slack_id: 'U0NOBODY' } },
      ],
      sentAt: undefined,
      context: { library: { name: 'analytics-python' } },
    };
    const res = await send(batch);
    expect(res.status).toBe(200);
    expect(res.json.accepted).toBe(3);
    expect(res.json.rejected).toEqual([
      { index: 3, reason: expect.stringMatching(/type "page" is not supported/) },
      { index: 4, reason: expect.stringMatching(/no customer matches/) },
      { index: 5, reason: expect.stringMatching(/timestamp is missing/) },
      { index: 6, reason: expect.stringMatching(/acct-unknown is unknown and no name was given/) },
      { index: 7, reason: expect.stringMatching(/owner U0NOBODY is not a member/) },
    ]);
    const c = await app.db.db.selectFrom('customers').selectAll().where('external_id', '=', 'acct-77').executeTakeFirstOrThrow();
    expect(c.name).toBe('Torvalds Kernel Co');
    expect((await signalsOf('acct-77')).map((s) => [s.kind, s.value === null ? null : Number(s.value)])).toEqual([
      ['order', 300],
      ['usage', null],
    ]);
    const owner = await app.db.db.selectFrom('ownership_events').select('kind').where('customer_id', '=', c.id).execute();
    expect(owner).toEqual([{ kind: 'api' }]);

    // Segment retries whole batches: the replay changes nothing.
    const before = [await count('signals'), await count('customers'), await count('segment_users')];
    const replay = await send(batch);
    expect(replay.json.accepted).toBe(0);
    expect(replay.json.duplicates).toBe(3);
    expect([await count('signals'), await count('customers'), await count('segment_users')]).toEqual(before);
  });

  it('group without a name updates an existing customer and never erases its values', async () => {
    const res = await send({ type: 'group', messageId: 'grp-2', groupId: 'acct-42', traits: { plan: 'scale' } });
    expect(res.json.accepted).toBe(1);
    const c = await app.db.db.selectFrom('customers').selectAll().where('external_id', '=', 'acct-42').executeTakeFirstOrThrow();
    expect(c).toMatchObject({ name: 'Lovelace Analytics', plan: 'scale', domain: 'lovelace.io' });
  });

  it('answers a body that is not a Segment payload with 400', async () => {
    const res = await send('hello');
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/Segment message/);
  });
});
