import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimNotification } from '../../src/alerts/outbox.repository.js';
import { enqueueNotification } from '../../src/alerts/outbox.service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { retain, until } from './alerts.fixtures.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp('outbox', { roles: ['web', 'worker'] });
});
afterAll(async () => app?.stop());

const PERMANENT = ['channel_not_found', 'not_in_channel', 'is_archived', 'account_inactive', 'invalid_auth'];
const channelFor = (error: string) => `C0${error.replace(/_/g, '').toUpperCase().slice(0, 8)}`;
const rowsOf = (ids: string[]) => app.db.db.selectFrom('notifications').selectAll().where('id', 'in', ids).orderBy('id').execute();
const keysPosted = (prefix: string) => app.slack.posted.map((p) => String(p.metadata?.event_payload.key ?? '')).filter((k) => k.startsWith(prefix));

describe('notification outbox', () => {
  it('delivers each claimed message once, paced per channel, stamped with its key', async () => {
    app.slack.rateLimitMs = 1000;
    const ctx = app.running.ctx;
    for (let i = 0; i < 3; i++) {
      const a = await enqueueNotification(ctx, { dedupeKey: `t-${i}`, kind: 'test', channel: 'C0PACE', text: `hello ${i}` });
      const again = await enqueueNotification(ctx, { dedupeKey: `t-${i}`, kind: 'test', channel: 'C0PACE', text: `hello ${i}` });
      expect(a.created).toBe(true);
      expect(again).toEqual({ id: a.id, created: false });
    }
    await enqueueNotification(ctx, { dedupeKey: 'dm-1', kind: 'test', channel: 'U0ALICE', text: 'to a DM' });
    await app.slack.waitFor(() => app.slack.posted.length === 4, 20_000);
    const pace = app.slack.posted.filter((p) => p.channel === 'C0PACE');
    expect(pace.map((p) => p.text).sort()).toEqual(['hello 0', 'hello 1', 'hello 2']);
    expect(app.slack.rateLimited).toBe(0);
    expect(pace[1]!.at - pace[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(pace[2]!.at - pace[1]!.at).toBeGreaterThanOrEqual(1000);
    expect(app.slack.posted.find((p) => p.text === 'to a DM')?.channel).toBe('D0ALICE');
    await until(async () => (await app.db.db.selectFrom('notifications').select('status').execute()).every((r) => r.status === 'sent'));
    const rows = await app.db.db.selectFrom('notifications').selectAll().orderBy('id').execute();
    expect(rows.every((r) => r.status === 'sent' && r.message_ts && r.attempts === 1)).toBe(true);
    expect(pace.every((p) => typeof p.metadata?.event_payload.key === 'string')).toBe(true);
  });

  it.each(PERMANENT)('fails a message for good on %s, with the reason, without retrying', async (error) => {
    const channel = channelFor(error);
    app.slack.failChannel(channel, error);
    const { id } = await enqueueNotification(app.running.ctx, { dedupeKey: `gone-${error}`, kind: 'test', channel, text: 'x' });
    const row = await until(async () => {
      const r = await app.db.db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
      return r?.status === 'failed' ? r : null;
    });
    expect(row.last_error).toBe(error);
    await new Promise((r) => setTimeout(r, 200));
    expect(app.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === channel)).toHaveLength(1);
  });

  it('retain outbox lists what is pending or failed and why; --retry re-queues the failed ones', async () => {
    const config = app.running.ctx.config;
    const listed = await retain(config, ['outbox']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/outbox: 0 pending, 0 sending, 5 failed/);
    expect(listed.out).toMatch(/failed\s+test\s+C0CHANNELN\s+1\s+.*channel_not_found/);
    expect(listed.out).toContain('retain outbox --retry');

    for (const e of PERMANENT) app.slack.unfailChannel(channelFor(e));
    const retried = await retain(config, ['outbox'], ['--retry']);
    expect(retried.out).toBe('re-queued 5 failed notifications');
    await app.slack.waitFor(() => keysPosted('gone-').length === 5);
    expect(keysPosted('gone-').sort()).toEqual([
      'gone-account_inactive',
      'gone-channel_not_found',
      'gone-invalid_auth',
      'gone-is_archived',
      'gone-not_in_channel',
    ]);
    expect((await retain(config, ['outbox'])).out).toMatch(/outbox: 0 pending, 0 sending, 0 failed/);
  });

  it('the sweep delivers a claimed row whose job was lost', async () => {
    const id = (await claimNotification(app.db.db, { dedupeKey: 'lost-1', kind: 'test', channel: 'C0LOST', text: 'lost and found' }))!;
    await app.db.db
      .updateTable('notifications')
      .set({ updated_at: new Date(Date.now() - 120_000) })
      .where('id', '=', id)
      .execute();
    await app.running.ctx.queues!.add('sweepOutbox', {});
    await app.slack.waitFor(() => keysPosted('lost-').length === 1);
    await app.running.ctx.queues!.add('sweepOutbox', {});
    await new Promise((r) => setTimeout(r, 300));
    expect(keysPosted('lost-')).toEqual(['lost-1']);
  });

  it('429 storm: Retry-After honoured, every message delivered once, no attempt used up', async () => {
    app.slack.rateLimitMs = 2_500; // stricter than our pacing: Slack answers 429 + Retry-After
    app.slack.retryAfterSeconds = 1;
    const before429 = app.slack.rateLimited;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push((await enqueueNotification(app.running.ctx, { dedupeKey: `storm429-${i}`, kind: 'test', channel: `C0STORM${i % 2}`, text: `storm ${i}` })).id);
    await app.slack.waitFor(() => keysPosted('storm429-').length === 6, 30_000);
    expect(app.slack.rateLimited - before429).toBeGreaterThan(0);
    await until(async () => (await rowsOf(ids)).every((r) => r.status === 'sent'));
    await new Promise((r) => setTimeout(r, 300));
    expect(keysPosted('storm429-').sort()).toEqual(ids.map((_, i) => `storm429-${i}`).sort());
    for (const r of await rowsOf(ids)) expect(r.attempts).toBe(1);
    const queue = app.running.ctx.queues!.queue('delivery');
    for (const row of await rowsOf(ids)) {
      const job = await queue.getJob(row.delivery_job!);
      expect(job?.finishedOn).toBeTruthy();
      expect(job!.attemptsMade).toBeLessThanOrEqual(1);
      expect(job!.failedReason ?? '').toBe('');
    }
    app.slack.rateLimitMs = 1000;
  }, 40_000);

  it('500 storm: retried with backoff, every message delivered once', async () => {
    app.slack.failNext('chat.postMessage', 3, { status: 500 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await enqueueNotification(app.running.ctx, { dedupeKey: `storm500-${i}`, kind: 'test', channel: `C0FIVE${i}`, text: `five ${i}` })).id);
    await app.slack.waitFor(() => keysPosted('storm500-').length === 3, 30_000);
    await until(async () => (await rowsOf(ids)).every((r) => r.status === 'sent'));
    await new Promise((r) => setTimeout(r, 300));
    expect(keysPosted('storm500-').sort()).toEqual(['storm500-0', 'storm500-1', 'storm500-2']);
    const rows = await rowsOf(ids);
    expect(rows.reduce((s, r) => s + r.attempts, 0)).toBe(6); // 3 failed tries + 3 successes
  }, 40_000);
});
