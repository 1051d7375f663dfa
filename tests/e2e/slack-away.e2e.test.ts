import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { enqueueNotifications } from '../../src/alerts/outbox.service.js';
import { BOT_TOKEN, SIGNING_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL } from '../helpers/db.js';
import { freePort } from '../helpers/redis-server.js';
import { startSlackDouble, type SlackDouble } from '../helpers/slack-double.js';
import { until } from './alerts.fixtures.js';

/**
 * Slack's Web API unreachable, or refusing the bot token, when retain
 * starts: retain starts anyway, says what is wrong in /healthz, keeps
 * checking, holds the deliveries in the outbox without burning their tries,
 * and delivers each once when Slack answers.
 */
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const health = async (app: TestApp) => {
  const res = await fetch(`${app.baseUrl}/healthz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> } };
};
const keysPosted = (slack: SlackDouble, prefix: string) =>
  slack.posted.map((p) => String(p.metadata?.event_payload.key ?? '')).filter((k) => k.startsWith(prefix));

describe('the Web API unreachable at start-up', () => {
  it('starts, reports it, keeps the messages waiting untried, and delivers them once Slack answers', async () => {
    const port = await freePort();
    const placeholder = await startSlackDouble();
    const app = await startTestApp('slackaway', { roles: ['web', 'worker'], slack: placeholder, env: { SLACK_API_URL: `http://127.0.0.1:${port}/api/` } });
    cleanup.push(() => app.stop());

    await until(async () => (await health(app)).body.checks.slack?.ok === false, 10_000);
    const h = await health(app);
    expect(h.status).toBe(200); // ingest and scoring still work: degraded, not down
    expect(h.body.status).toBe('degraded');
    expect(h.body.checks.slack!.error).toMatch(/unreachable/);

    const keys = ['away-1', 'away-2', 'away-3'];
    await enqueueNotifications(
      app.running.ctx,
      keys.map((k, i) => ({ dedupeKey: k, kind: 'test', channel: `C0AWAY${i}`, text: k })),
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const waiting = await app.db.db.selectFrom('notifications').select(['status', 'attempts']).execute();
    expect(waiting.every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);

    const slack = await startSlackDouble({ port });
    cleanup.push(() => slack.close());
    await slack.waitFor(() => keysPosted(slack, 'away-').length === keys.length, 30_000);
    await until(async () => (await app.db.db.selectFrom('notifications').select('status').execute()).every((r) => r.status === 'sent'));
    await new Promise((r) => setTimeout(r, 500));
    expect(keysPosted(slack, 'away-').sort()).toEqual(keys);
    expect((await health(app)).body.status).toBe('ok');
  }, 60_000);
});

describe('a bot token Slack refuses (invalid_auth) at start-up', () => {
  it('starts, says the token is refused, and delivers once the token works again', async () => {
    const slack = await startSlackDouble();
    cleanup.push(() => slack.close());
    slack.failNext('auth.test', 2, { error: 'invalid_auth' });
    const app = await startTestApp('slackauth', { roles: ['web', 'worker'], slack });
    cleanup.push(() => app.stop());
    await until(async () => (await health(app)).body.checks.slack?.error?.startsWith('invalid_auth') ?? false, 10_000);
    await enqueueNotifications(app.running.ctx, [{ dedupeKey: 'auth-1', kind: 'test', channel: 'C0AUTH', text: 'auth-1' }]);
    await slack.waitFor(() => keysPosted(slack, 'auth-').length === 1, 30_000);
    const row = await until(async () => {
      const r = await app.db.db.selectFrom('notifications').select(['status', 'attempts']).executeTakeFirstOrThrow();
      return r.status === 'sent' ? r : null;
    });
    expect(row).toEqual({ status: 'sent', attempts: 1 });
  }, 60_000);
});

describe('retain start with Slack unreachable', () => {
  it('keeps running (no crash loop), serves /healthz, and stops cleanly on SIGTERM', async () => {
    const db = await createTestDb('slackaway_cli');
    const prefix = queuePrefix('slackaway_cli');
    cleanup.push(async () => {
      await cleanQueuePrefix(prefix);
      await db.drop();
    });
    const port = await freePort();
    const child = spawn('node', ['bin/retain.js', 'start'], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL,
        RETAIN_QUEUE_PREFIX: prefix,
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: `http://127.0.0.1:${port}/api/`,
        LOG_LEVEL: 'warn',
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(async () => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const webPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no port announced: ${stderr}`)), 60_000);
      const look = () => {
        const m = /running on port (\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stderr.on('data', look);
      void exited.then((code) => reject(new Error(`retain start exited ${code}: ${stderr}`)));
    });
    // Well past the ~2.6 s after which it used to exit 1.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(child.exitCode).toBeNull();
    const res = await fetch(`http://127.0.0.1:${webPort}/healthz`);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    expect(res.status).toBe(200);
    expect(body.checks.slack).toMatchObject({ ok: false });
    expect(stderr).toMatch(/Slack's Web API cannot be reached/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
