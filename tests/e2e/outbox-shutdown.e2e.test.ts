import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotifications } from '../../src/alerts/outbox.service.js';
import { start, type Running } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { cleanQueuePrefix } from '../helpers/db.js';

/**
 * Graceful stop mid-drain: a delivery job draining a channel (a message a
 * second) must not hold shutdown for the whole backlog — it hands the rest
 * back to the queue, and the next worker delivers it, each message once.
 */
let app: TestApp;
let next: Running | undefined;

beforeAll(async () => {
  app = await startTestApp('shutdown', { roles: ['web', 'worker'] });
  app.slack.rateLimitMs = 1000;
});
afterAll(async () => {
  await next?.stop();
  await app.slack.close();
  await cleanQueuePrefix(app.prefix);
  await app.db.drop();
});

const keys = () => app.slack.posted.map((p) => String(p.metadata?.event_payload.key ?? '')).filter((k) => k.startsWith('drain-'));

describe('a worker stopped mid-drain', () => {
  it('hands the rest of the channel back at once; the next worker delivers it, each message once', async () => {
    const all = Array.from({ length: 6 }, (_, i) => `drain-${i}`);
    await enqueueNotifications(
      app.running.ctx,
      all.map((dedupeKey, i) => ({ dedupeKey, kind: 'test', channel: 'C0DRAIN', text: `drain ${i}` })),
    );
    await app.slack.waitFor(() => keys().length >= 1);
    await app.running.stop();
    // Stopped well before the drain could have finished (it needs 5 more seconds).
    const postedBeforeStop = keys().length;
    expect(postedBeforeStop).toBeLessThan(all.length);
    const rows = await app.db.db.selectFrom('notifications').select(['dedupe_key', 'status']).orderBy('id').execute();
    expect(rows.filter((r) => r.status === 'sent')).toHaveLength(postedBeforeStop);
    // Nothing is left half-done: the rest is pending, for its job back in the queue.
    expect(rows.filter((r) => r.status !== 'sent').every((r) => r.status === 'pending')).toBe(true);

    next = await start({ roles: ['worker'], config: app.running.ctx.config, logger: silentLogger, migrate: false, schedules: false });
    await app.slack.waitFor(() => keys().length === all.length, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(keys().sort()).toEqual([...all].sort());
    expect(app.slack.rateLimited).toBe(0);
  }, 40_000);
});
