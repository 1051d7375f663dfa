import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rescoreNow } from '../../src/scores/rescore.runner.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { loadEventsCsv, seedRoster } from '../helpers/fixtures.js';
import { visibleText } from '../helpers/text.js';
import { loadBook, plantedBook } from '../integration/rescore.book.js';
import { postedWith } from './alerts.fixtures.js';

/**
 * Churn warnings through the real rescore (scoring runs → batches → the
 * scores-written hook): the rules hold for whatever the scorer decided, a
 * thriving account is never warned, an account that turns bad between two
 * runs is warned once, and a run with nothing new warns nobody.
 */
const now = new Date();
let app: TestApp;
const DAY = 86_400_000;
const iso = (daysAgo: number, hour = 9) => {
  const d = new Date(now.getTime() - daysAgo * DAY);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
};

async function warnedCustomers(): Promise<string[]> {
  const rows = await app.db.db
    .selectFrom('alerts as a')
    .innerJoin('customers as c', 'c.id', 'a.customer_id')
    .select('c.external_id')
    .orderBy('c.external_id')
    .execute();
  return rows.map((r) => r.external_id);
}

beforeAll(async () => {
  // Many warnings go to one team channel: pace fast, the pacing has its own tests.
  const dir = mkdtempSync(join(tmpdir(), 'retain-alerts-rescore-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ pacing: { perChannelMs: 20 } }));
  app = await startTestApp('alertsrescore', { roles: ['web', 'worker'], env: { RETAIN_CONFIG: join(dir, 'config.json') } });
  const { emea, alice } = await seedRoster(app.db);
  const book = plantedBook(now);
  // TURN starts as healthy as THRIVE; it goes bad between the runs.
  book.customersCsv += 'TURN,Turn Around Co,turn.example,pro,110000,USD,,,\n';
  book.eventsCsv += book.eventsCsv
    .split('\n')
    .filter((l) => l.startsWith('THRIVE,'))
    .map((l) => l.replace(/^THRIVE,/, 'TURN,').replace(/,THRIVE-(\d+)$/, ',TURN-$1'))
    .join('\n')
    .concat('\n');
  book.touches.push({ customer: 'TURN', daysAgo: 10 });
  book.feedback.push({ customer: 'TURN', kind: 'praise', sentiment: 0.8, daysAgo: 12 });
  await loadBook(app.db, book, now);
  await sql`UPDATE customers SET team_id = ${emea.id}`.execute(app.db.db);
  await sql`UPDATE customers SET owner_member_id = ${alice.id} WHERE external_id IN ('THRIVE', 'TURN', 'SLIP')`.execute(app.db.db);
});
afterAll(async () => app?.stop());

describe('churn warnings through the real rescore', () => {
  it('first run: warns exactly the accounts the rules pick out, never the thriving one', async () => {
    const run = await rescoreNow(app.running.ctx, { mode: 'full', asOf: now });
    expect(run.run.status).toBe('done');
    const scores = await sql<{ external_id: string; band: string; p_alive: number | null }>`
      SELECT c.external_id, s.band, s.p_alive FROM customer_scores s JOIN customers c ON c.id = s.customer_id
      WHERE c.status = 'active'`.execute(app.db.db);
    // (a first run has no history, so only the band and P(alive) rules can fire)
    const expected = scores.rows
      .filter((r) => r.band === 'red' || (r.p_alive !== null && r.p_alive < 0.3))
      .map((r) => r.external_id)
      .sort();
    expect(await warnedCustomers()).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected).not.toContain('THRIVE');
    expect(expected).not.toContain('TURN');
    await app.slack.waitFor(() => postedWith(app, 'warning:').length === expected.length, 30_000);
  }, 60_000);

  it('second run after TURN goes bad: TURN alone is newly warned, in its owner’s channel, with its drivers', async () => {
    const before = await warnedCustomers();
    const bad = ['customer_external_id,kind,occurred_at,value,external_id'];
    for (const d of [1, 2, 3, 4, 5, 6]) bad.push(`TURN,complaint,${iso(d)},,TURN-bad-c${d}`);
    for (const d of [2, 8, 15]) bad.push(`TURN,payment_failed,${iso(d)},,TURN-bad-p${d}`);
    bad.push(`TURN,nps,${iso(1)},0,TURN-bad-nps`);
    const r = await loadEventsCsv(app.db, `${bad.join('\n')}\n`);
    expect(r.problems).toEqual([]);
    await sql`INSERT INTO feedback (customer_id, author_slack_id, kind, sentiment, text, created_at)
      SELECT id, 'U0BOB', 'complaint', -0.9, 'Everything is broken', now() FROM customers WHERE external_id = 'TURN'`.execute(app.db.db);

    await rescoreNow(app.running.ctx, { mode: 'full', asOf: new Date() });
    expect(await warnedCustomers()).toEqual([...before, 'TURN'].sort());
    const turn = await sql<{ health: number; previous_health: number }>`
      SELECT s.health, s.previous_health FROM customer_scores s JOIN customers c ON c.id = s.customer_id WHERE c.external_id = 'TURN'`.execute(app.db.db);
    expect(turn.rows[0]!.previous_health - turn.rows[0]!.health).toBeGreaterThanOrEqual(15);

    await app.slack.waitFor(() => postedWith(app, 'warning:').some((p) => p.text.includes('Turn Around Co')), 30_000);
    const msg = postedWith(app, 'warning:').find((p) => p.text.includes('Turn Around Co'))!;
    expect(msg.channel).toBe('C0ALICE');
    const text = visibleText(msg.blocks);
    expect(text).toMatch(/health fell \d+ points within 14 days/);
    expect(text).toMatch(/complaints? in 30 days|failed payments? in 90 days/);
    expect(text).toContain('Suggested next step');
  }, 60_000);

  it('a third run with nothing new warns nobody', async () => {
    const before = await warnedCustomers();
    const postedBefore = postedWith(app, 'warning:').length;
    await rescoreNow(app.running.ctx, { mode: 'full', asOf: new Date() });
    await new Promise((r) => setTimeout(r, 500));
    expect(await warnedCustomers()).toEqual(before);
    expect(postedWith(app, 'warning:')).toHaveLength(postedBefore);
  }, 60_000);
});
