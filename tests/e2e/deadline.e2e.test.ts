import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDb, PG_BASE, type TestDb } from '../helpers/db.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { visibleText } from '../helpers/text.js';
import { postSigned, slashBody } from '../helpers/signed.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * A Postgres that stops answering — frozen mid-query (a paused TCP proxy in
 * front of it stands in for SIGSTOP) or stuck behind a row lock — must not
 * mean silence: the person gets an answer within Slack's 3 seconds, and the
 * app is fine again once the database is.
 */
let db: TestDb;
let proxy: TcpProxy;
let app: TestApp;

beforeAll(async () => {
  db = await createTestDb('deadline');
  await seedRoster(db);
  await loadCustomersCsv(db, sampleCustomers());
  const upstream = new URL(PG_BASE);
  proxy = await startTcpProxy(upstream.hostname, Number(upstream.port || 5432));
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  app = await startTestApp('deadline', { roles: ['web'], db, env: { DATABASE_URL: viaProxy.toString() } });
});
afterAll(async () => {
  proxy?.resume();
  await app?.stop();
  await proxy?.close();
  await db?.drop();
});

let seq = 0;
/** Send a slash command; resolve with the reply and how long after sending it arrived. */
async function timedSlash(command: '/customer' | '/feedback', text: string, userId: string): Promise<{ text: string; ms: number }> {
  const id = `dl${++seq}`;
  const started = Date.now();
  const res = await postSigned(app.eventsUrl, SIGNING_SECRET, slashBody({ command, text, userId, responseUrl: `${app.slack.responseBase}/${id}` }));
  expect(res.status).toBe(200);
  await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id), 15_000);
  const r = app.slack.responses.find((x) => x.id === id)!;
  return { text: visibleText(r.body as never) || String(r.body.text ?? ''), ms: r.at - started };
}

describe('Postgres frozen mid-query', () => {
  it('answers within 3 seconds that retain is busy, and works again once Postgres does', async () => {
    const warm = await timedSlash('/customer', 'globex', 'U0BOB');
    expect(warm.text).toContain('Globex');

    proxy.pause();
    try {
      const frozen = await timedSlash('/customer', 'globex', 'U0BOB');
      expect(frozen.ms).toBeLessThan(3_000);
      expect(frozen.text).toMatch(/retain is busy|cannot reach its database/);
      expect(frozen.text).not.toContain('Something went wrong');
    } finally {
      proxy.resume();
    }
    const after = await timedSlash('/customer', 'globex', 'U0BOB');
    expect(after.text).toContain('Globex');
  }, 30_000);
});

describe('a row locked by another transaction', () => {
  it('a claim waiting on the lock is answered within 3 seconds, and nothing changed', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`SELECT id FROM customers WHERE name = 'Globex' FOR UPDATE`);
      const r = await timedSlash('/customer', 'claim globex -- they asked for me', 'U0ALICE');
      expect(r.ms).toBeLessThan(3_000);
      expect(r.text).toContain('retain is busy — try again in a few seconds');
    } finally {
      await other.query('ROLLBACK');
      await other.end();
    }
    const owner = await db.db
      .selectFrom('customers as c')
      .innerJoin('members as m', 'm.id', 'c.owner_member_id')
      .select('m.slack_user_id')
      .where('c.name', '=', 'Globex')
      .executeTakeFirstOrThrow();
    expect(owner.slack_user_id).toBe('U0BOB');
    expect(await db.db.selectFrom('disputes').selectAll().execute()).toEqual([]);
    const again = await timedSlash('/customer', 'globex', 'U0BOB');
    expect(again.text).toContain('Globex');
  }, 30_000);
});
