import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, SIGNING_SECRET, type TestApp } from '../helpers/app.js';
import { seedRoster } from '../helpers/fixtures.js';
import { postSigned, slashBody } from '../helpers/signed.js';
import { visibleText } from '../helpers/text.js';
import { loadBook, plantedBook } from '../integration/rescore.book.js';

/**
 * A small book scored by the real worker (rescore job → batch jobs), then
 * looked up over signed HTTP: the card shows health, band, sparkline,
 * drivers, tier, RFM segment, P(alive), CLV and the age of the newest data.
 */
let app: TestApp;
let n = 0;
const now = new Date();

async function slash(text: string, userId = 'U0ALICE') {
  const id = `card${++n}`;
  const res = await postSigned(
    app.eventsUrl,
    SIGNING_SECRET,
    slashBody({ command: '/customer', text, userId, responseUrl: `${app.slack.responseBase}/${id}` }),
  );
  expect(res.status).toBe(200);
  await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
  return app.slack.responses.find((r) => r.id === id)!.body as { text: string; blocks: any[] };
}

async function fullRescore(): Promise<void> {
  const jobId = await app.running.ctx.queues!.add('rescore', { mode: 'full' });
  const until = Date.now() + 30_000;
  for (;;) {
    const r = await sql<{ status: string }>`SELECT status FROM scoring_runs WHERE job_key = ${jobId!}`.execute(app.db.db);
    if (r.rows[0] && r.rows[0].status !== 'running') return;
    if (Date.now() > until) throw new Error('rescore did not finish');
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  app = await startTestApp('card_scored', { roles: ['web', 'worker'] });
  await seedRoster(app.db);
  await loadBook(app.db, plantedBook(now), now);
  await app.db.db
    .insertInto('customers')
    .values({ external_id: 'NEWCO', name: 'Newco Unscored', created_at: new Date(), updated_at: new Date(), data_changed_at: new Date() })
    .execute();
  await fullRescore();
  // A second run after more trouble: the sparkline has two points and a move.
  await sql`
    INSERT INTO signals (customer_id, kind, occurred_at, value, dedupe_key, source)
    SELECT id, 'complaint', now() - interval '1 hour', NULL, 'card-e2e-' || g, 'test'
    FROM customers, generate_series(1, 3) AS g WHERE external_id = 'SLIP'`.execute(app.db.db);
  await fullRescore();
});

afterAll(async () => app?.stop());

describe('/customer card once scores exist', () => {
  it('shows health, band, sparkline, drivers, tier, segment, P(alive), CLV and the age of the newest data', async () => {
    const reply = await slash('Slip Industries');
    expect(reply.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Slip Industries' } });
    const text = visibleText(reply);
    const score = await app.db.db
      .selectFrom('customer_scores as s')
      .innerJoin('customers as c', 'c.id', 's.customer_id')
      .select(['s.health', 's.band', 's.previous_health', 's.rfm_segment', 's.p_alive', 's.tier'])
      .where('c.external_id', '=', 'SLIP')
      .executeTakeFirstOrThrow();
    // Health, its move since the previous run, the band and a two-point sparkline.
    expect(text).toMatch(new RegExp(`\\*Health ${score.health}\\* \\(-\\d+\\) · ${score.band}\\s+[▁▂▃▄▅▆▇█]{2}`));
    expect(score.previous_health).toBeGreaterThan(score.health);
    // Drivers, as sentences.
    expect(text).toMatch(/↓ no touch in 200 days; tier A expects one every 30/);
    expect(text).toMatch(/↓ usage down \d+% vs the previous 60 days/);
    expect(text).toMatch(/↓ \d+ complaints in 30 days/);
    // Tier and RFM segment; the purchase model.
    expect(text).toContain(`A · ${score.rfm_segment}`);
    expect(text).toMatch(new RegExp(`P\\(alive\\) ${score.p_alive!.toFixed(2)}`));
    expect(text).toMatch(/CLV \$\d/);
    // When it was scored, how old the newest data behind it is, and the weights.
    expect(text).toMatch(/scored (just now|\d+m ago) · newest data (just now|\d+m ago|\d+h ago) · weights: engagement \d+%/);
    expect(reply.text).toBe(`Slip Industries: health ${score.health} (${score.band})`);
  });

  it('shows the thriving account in green', async () => {
    const text = visibleText(await slash('Thrive Corp'));
    expect(text).toMatch(/🟢 \*Health \d+\*/);
    expect(text).toMatch(/· green/);
    expect(text).toMatch(/↑ /);
  });

  it('says "not scored yet" for a customer without any data', async () => {
    const text = visibleText(await slash('Newco Unscored'));
    expect(text).toContain('Not scored yet');
    expect(text).not.toMatch(/Health \d+/);
  });
});
