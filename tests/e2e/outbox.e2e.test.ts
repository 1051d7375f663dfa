import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotification } from '../../src/alerts/outbox.service.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp('outbox', { roles: ['web', 'worker'] });
});
afterAll(async () => app?.stop());

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
    expect(app.slack.posted.find((p) => p.text === 'to a DM')?.channel).toBe('D0ALICE');
    const rows = await app.db.db.selectFrom('notifications').selectAll().orderBy('id').execute();
    await app.slack.waitFor(() => true);
    expect(rows.every((r) => r.status === 'sent' && r.message_ts)).toBe(true);
    expect(pace.every((p) => typeof p.metadata?.event_payload.key === 'string')).toBe(true);
  });

  it('fails a message for good on a permanent Slack error, with the reason', async () => {
    app.slack.failChannel('C0GONE', 'channel_not_found');
    const { id } = await enqueueNotification(app.running.ctx, { dedupeKey: 'gone-1', kind: 'test', channel: 'C0GONE', text: 'x' });
    let row;
    for (let i = 0; i < 200; i++) {
      row = await app.db.db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
      if (row?.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(row?.status).toBe('failed');
    expect(row?.last_error).toBe('channel_not_found');
  });
});
