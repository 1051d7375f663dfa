import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotifications } from '../../src/alerts/outbox.service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { until } from './alerts.fixtures.js';

/**
 * SIGKILL mid-delivery: a real worker process is killed while Slack holds a
 * post it never acknowledged; a new worker takes over. Every message must be
 * delivered exactly once — none missing, none twice.
 */
let app: TestApp;
const children: ChildProcess[] = [];

function startWorker(): Promise<ChildProcess> {
  return startWorkerProcess(app, children);
}

beforeAll(async () => {
  // Web role only: this process enqueues, the child processes deliver.
  app = await startTestApp('outboxcrash', { roles: ['web'] });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await app?.stop();
});

describe('a worker killed mid-delivery', () => {
  it('SIGKILL while a post is in flight: after restart every message is delivered exactly once', async () => {
    app.slack.rateLimitMs = 1000; // Slack's per-channel limit, enforced
    app.slack.postLatencyMs = 400; // Slack has the message before the worker hears back
    const first = await startWorker();
    const channels = ['C0KILLA', 'C0KILLB', 'C0KILLC'];
    const keys = Array.from({ length: 30 }, (_, i) => `crash-${i}`);
    await enqueueNotifications(
      app.running.ctx,
      keys.map((k, i) => ({ dedupeKey: k, kind: 'test', channel: channels[i % 3]!, text: `message ${i}` })),
    );

    // Kill as soon as a post has reached Slack but not been answered.
    await app.slack.waitFor(() => app.slack.posted.length >= 7, 20_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const inFlight = await app.db.db.selectFrom('notifications').select('id').where('status', '=', 'sending').execute();
    expect(inFlight.length).toBeGreaterThan(0);
    const postedAtKill = app.slack.posted.length;
    expect(postedAtKill).toBeLessThan(30);

    await startWorker();
    await app.slack.waitFor(() => app.slack.posted.length >= 30, 45_000);
    await until(async () => (await app.db.db.selectFrom('notifications').select('status').execute()).every((r) => r.status === 'sent'), 30_000);
    await new Promise((r) => setTimeout(r, 500));

    const postedKeys = app.slack.posted.map((p) => String(p.metadata?.event_payload.key));
    expect(postedKeys).toHaveLength(30); // none twice
    expect([...postedKeys].sort()).toEqual([...keys].sort()); // none missing
    // the message caught in flight was found in Slack by its key, not posted again
    const lookups = app.slack.calls.filter((c) => c.method === 'conversations.history');
    expect(lookups.length).toBeGreaterThan(0);
    const rows = await app.db.db.selectFrom('notifications').select(['dedupe_key', 'message_ts', 'posted_channel_id']).execute();
    for (const r of rows) expect(app.slack.posted.find((p) => p.ts === r.message_ts)?.metadata?.event_payload.key).toBe(r.dedupe_key);
  }, 90_000);
});
