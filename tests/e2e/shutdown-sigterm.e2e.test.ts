import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotifications } from '../../src/alerts/outbox.service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { REDIS_URL } from '../helpers/db.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { until } from './alerts.fixtures.js';

/**
 * SIGTERM to a worker process in the middle of a delivery burst — many
 * one-message jobs queued up on one channel (as a rescore's batches make
 * them) plus longer drains — must stop it within 10 seconds with exit code
 * 0, posting nothing more than what was already in flight, leaving no job
 * marked active; the next worker delivers the rest, each message once.
 */
let app: TestApp;
const children: ChildProcess[] = [];
// A quarter-second per channel keeps the test short; the pacing has its own tests.
const configDir = mkdtempSync(join(tmpdir(), 'retain-sigterm-'));
writeFileSync(join(configDir, 'config.json'), JSON.stringify({ pacing: { perChannelMs: 250 } }));

function startWorker(): Promise<ChildProcess> {
  return startWorkerProcess(app, children, { RETAIN_CONFIG: join(configDir, 'config.json') });
}

beforeAll(async () => {
  // Web role only: this process enqueues, the child processes deliver.
  app = await startTestApp('sigterm', { roles: ['web'] });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await app?.stop();
});

const keys = () => app.slack.posted.map((p) => String(p.metadata?.event_payload.key ?? '')).filter((k) => k.startsWith('term-'));

describe('SIGTERM to a worker mid-delivery', () => {
  it('exits 0 within 10 s, hands the rest back, and the next worker delivers each message once', async () => {
    app.slack.rateLimitMs = 250;
    app.slack.postLatencyMs = 100;
    const first = await startWorker();
    const all: string[] = [];
    // Thirty one-message jobs all waiting on one channel…
    for (let i = 0; i < 30; i++) {
      const key = `term-one-${i}`;
      all.push(key);
      await enqueueNotifications(app.running.ctx, [{ dedupeKey: key, kind: 'test', channel: 'C0TERMONE', text: key }]);
    }
    // …and longer drains on three more.
    const more = Array.from({ length: 30 }, (_, i) => ({ dedupeKey: `term-drain-${i}`, kind: 'test', channel: `C0TERM${i % 3}`, text: `drain ${i}` }));
    all.push(...more.map((m) => m.dedupeKey));
    await enqueueNotifications(app.running.ctx, more);

    await app.slack.waitFor(() => keys().length >= 8, 30_000);
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => first.once('exit', (code) => resolve({ code, at: Date.now() })));
    const signalledAt = Date.now();
    const postedAtSignal = keys().length;
    first.kill('SIGTERM');
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(10_000);
    // Only posts already in flight (one per channel at most) went out after the signal.
    expect(keys().length - postedAtSignal).toBeLessThanOrEqual(4);
    expect(keys().length).toBeLessThan(all.length);

    const queue = new Queue('delivery', { connection: { url: REDIS_URL }, prefix: app.prefix });
    try {
      expect((await queue.getJobCounts('active')).active).toBe(0);
    } finally {
      await queue.close();
    }
    const stuck = await app.db.db.selectFrom('notifications').select(['dedupe_key', 'status']).where('status', '=', 'sending').execute();
    expect(stuck).toEqual([]);

    await startWorker();
    await app.slack.waitFor(() => keys().length >= all.length, 60_000);
    await until(async () => (await app.db.db.selectFrom('notifications').select('status').execute()).every((r) => r.status === 'sent'), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(keys()).toHaveLength(all.length); // none twice
    expect([...keys()].sort()).toEqual([...all].sort()); // none missing
  }, 120_000);
});
