import { loadConfig } from '../../src/config/index.js';
import type { Feature } from '../../src/feature.js';
import { start, type Running, type RoleName } from '../../src/main.js';
import type { Clock } from '../../src/platform/clock.js';
import { createLogger, silentLogger } from '../../src/platform/logger.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_ENV, type TestDb } from './db.js';
import { startSlackDouble, type SlackDouble } from './slack-double.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-test-token';

export interface TestApp {
  running: Running;
  db: TestDb;
  slack: SlackDouble;
  baseUrl: string;
  eventsUrl: string;
  prefix: string;
  stop(): Promise<void>;
}

/**
 * The app as production runs it (web role, optionally worker), on its own
 * database and queue prefix, with the Web API pointed at the Slack double.
 */
export async function startTestApp(
  label: string,
  opts: { roles?: RoleName[]; env?: Record<string, string>; clock?: Clock; db?: TestDb; slack?: SlackDouble; features?: readonly Feature[] } = {},
): Promise<TestApp> {
  const db = opts.db ?? (await createTestDb(label));
  const slack = opts.slack ?? (await startSlackDouble());
  const prefix = queuePrefix(label);
  const config = loadConfig({
    DATABASE_URL: db.url,
    ...REDIS_ENV,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    RETAIN_QUEUE_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...opts.env,
  });
  const logger = process.env.TEST_LOG_LEVEL ? createLogger(process.env.TEST_LOG_LEVEL) : silentLogger;
  const running = await start({
    roles: opts.roles ?? ['web'],
    config,
    logger,
    port: 0,
    migrate: false,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.features ? { features: opts.features } : {}),
  });
  const baseUrl = `http://127.0.0.1:${running.port}`;
  return {
    running,
    db,
    slack,
    baseUrl,
    eventsUrl: `${baseUrl}/slack/events`,
    prefix,
    async stop() {
      await running.stop();
      await slack.close();
      await cleanQueuePrefix(prefix);
      if (!opts.db) await db.drop();
    },
  };
}
