import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { start, type Running } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { cleanQueuePrefix, queuePrefix, REDIS_URL } from '../helpers/db.js';
import { BOT_TOKEN, SIGNING_SECRET } from '../helpers/app.js';
import { startSlackDouble, type SlackDouble } from '../helpers/slack-double.js';
import { postSigned, slashBody } from '../helpers/signed.js';
import { visibleText } from '../helpers/text.js';

/** Postgres is down (nothing listens on the port): Slack still gets an answer. */
let running: Running;
let slack: SlackDouble;
let prefix: string;

beforeAll(async () => {
  slack = await startSlackDouble();
  prefix = queuePrefix('outage');
  const config = loadConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/retain_down',
    REDIS_URL,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    RETAIN_QUEUE_PREFIX: prefix,
  });
  running = await start({ roles: ['web'], config, logger: silentLogger, port: 0, migrate: false });
});
afterAll(async () => {
  await running?.stop();
  await slack?.close();
  await cleanQueuePrefix(prefix);
});

describe('with the database down', () => {
  it('acks the slash command and answers "try again shortly", without a stack trace', async () => {
    const url = `http://127.0.0.1:${running.port}/slack/events`;
    const res = await postSigned(
      url,
      SIGNING_SECRET,
      slashBody({ command: '/customer', text: 'acme', userId: 'U0ALICE', responseUrl: `${slack.responseBase}/down` }),
    );
    expect(res.status).toBe(200);
    await slack.waitFor(() => slack.responses.some((r) => r.id === 'down'), 10_000);
    const body = slack.responses.find((r) => r.id === 'down')!.body as { text: string; response_type: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('try again shortly');
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|at .*\.ts:\d+/);
  });

  it('still answers help without the database', async () => {
    const url = `http://127.0.0.1:${running.port}/slack/events`;
    await postSigned(url, SIGNING_SECRET, slashBody({ command: '/customer', text: 'help', userId: 'U0ALICE', responseUrl: `${slack.responseBase}/help` }));
    await slack.waitFor(() => slack.responses.some((r) => r.id === 'help'));
    expect(visibleText(slack.responses.find((r) => r.id === 'help')!.body)).toContain('/customer claim');
  });

  it('reports Postgres down on /healthz with 503', async () => {
    const res = await fetch(`http://127.0.0.1:${running.port}/healthz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { postgres: { ok: boolean }; redis: { ok: boolean } } };
    expect(body.checks.postgres.ok).toBe(false);
    expect(body.checks.redis.ok).toBe(true);
  });
});
