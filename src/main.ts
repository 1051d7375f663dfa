import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Server } from 'node:http';
import { loadConfig, type AppConfig } from './config/index.js';
import { jobHandlersOf, wire, type Feature } from './feature.js';
import { features as allFeatures } from './features.js';
import { bindQueuePrefix } from './jobs/prefix-guard.js';
import { Queues } from './jobs/queues.js';
import { registerSchedules } from './jobs/schedules.js';
import { createWorkers } from './jobs/worker.js';
import { systemClock, type Clock } from './platform/clock.js';
import type { AppContext } from './platform/context.js';
import { createDb, type DbHandle } from './platform/db.js';
import { checkHealth } from './platform/health.js';
import { closeServer, createHttpServer, listen, sendJson, type Route } from './platform/http.js';
import { metricsRoute } from './platform/metrics-route.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createAndMigrate } from './platform/migrate.js';
import { createRedis } from './platform/redis.js';
import { scoringConfigFrom } from './scores/scoring.config.js';
import { Shutdown } from './platform/shutdown.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import { createConsoleGateway, createWebGateway, type SlackGateway } from './slack/gateway.js';

export type RoleName = 'web' | 'worker';

export interface BuildOptions {
  config?: AppConfig;
  logger?: Logger;
  clock?: Clock;
  /** Override the Slack gateway (tests, console capture). */
  slack?: SlackGateway;
  /** Connect Redis and create queue producers (default true). */
  withQueues?: boolean;
  /** The features to wire (default: every feature in src/features.ts; tests add their own). */
  features?: readonly Feature[];
}

export interface Built {
  ctx: AppContext;
  redis: Redis | null;
  dbHandle: DbHandle;
  replicaHandle: DbHandle | null;
  close(): Promise<void>;
}

/** Composition root: config → db, redis, logger → context. */
export function buildContext(opts: BuildOptions = {}): Built {
  const config = opts.config ?? loadConfig();
  const logger = opts.logger ?? createLogger(config.env.LOG_LEVEL);
  const dbHandle = createDb(config.env.DATABASE_URL, logger);
  const replicaHandle = config.env.DATABASE_REPLICA_URL ? createDb(config.env.DATABASE_REPLICA_URL, logger) : null;
  const redis = opts.withQueues === false ? null : createRedis(config.env.REDIS_URL, 'producer', logger);
  const queues = redis ? new Queues(redis, config.env.RETAIN_QUEUE_PREFIX, logger) : null;
  const slack =
    opts.slack ??
    (config.slack.kind === 'console'
      ? createConsoleGateway()
      : createWebGateway(config.slack.botToken, config.env.SLACK_API_URL));
  const ctx: AppContext = {
    config,
    db: dbHandle.db,
    readDb: replicaHandle?.db ?? dbHandle.db,
    logger,
    clock: opts.clock ?? systemClock,
    slack,
    queues,
    wiring: wire(opts.features ?? allFeatures),
  };
  return {
    ctx,
    redis,
    dbHandle,
    replicaHandle,
    async close() {
      await queues?.close();
      redis?.disconnect();
      await replicaHandle?.close();
      await dbHandle.close();
    },
  };
}

export interface Running {
  ctx: AppContext;
  port: number | null;
  server: Server | null;
  slackApp: SlackApp | null;
  workers: Worker[];
  shutdown: Shutdown;
  stop(): Promise<void>;
}

export interface StartOptions extends BuildOptions {
  roles: RoleName[];
  migrate?: boolean;
  /** Listen on this port instead of PORT (tests use 0). */
  port?: number;
  handleSignals?: boolean;
  /** Register repeating schedules when the worker starts (default true; the demo drives jobs itself). */
  schedules?: boolean;
}

/** Start the web and/or worker roles; shutdown runs in a fixed order. */
export async function start(opts: StartOptions): Promise<Running> {
  const config = opts.config ?? loadConfig();
  // A bad scoring section (weights, bands…) stops start-up with a line naming the setting.
  scoringConfigFrom(config.settings);
  const logger = opts.logger ?? createLogger(config.env.LOG_LEVEL);
  if (opts.migrate !== false) await createAndMigrate(config.env.DATABASE_URL, logger);
  const features = opts.features ?? allFeatures;
  const built = buildContext({ ...opts, config, logger, features });
  const { ctx } = built;
  if (built.redis) {
    try {
      await bindQueuePrefix(ctx.db, built.redis, config.env.RETAIN_QUEUE_PREFIX, logger);
    } catch (error) {
      await built.close();
      throw error;
    }
  }
  const shutdown = new Shutdown(logger);
  let server: Server | null = null;
  let port: number | null = null;
  let slackApp: SlackApp | null = null;
  const workers: Worker[] = [];

  if (opts.roles.includes('web')) {
    slackApp = config.slack.kind === 'console' ? null : createSlackApp(ctx, config.slack, features.flatMap((f) => f.listeners ?? []));
    const baseRoutes: Route[] = [
      {
        method: 'GET',
        path: '/healthz',
        handler: async (_req, res) => {
          const report = await checkHealth(ctx.db, built.redis);
          sendJson(res, report.ok ? 200 : 503, report);
        },
      },
    ];
    baseRoutes.push(metricsRoute(ctx.queues));
    for (const install of features.flatMap((f) => f.metrics ?? [])) install(ctx);
    const featureRoutes = features.flatMap((f) => f.routes ?? []).flatMap((f) => f(ctx, { redis: built.redis, queues: ctx.queues }));
    const handleSlack = slackApp?.handleHttp;
    baseRoutes.push({
      method: 'POST',
      path: '/slack/events',
      handler: (req, res) => {
        if (handleSlack) return handleSlack(req, res);
        sendJson(res, 404, { error: config.slack.kind === 'console' ? 'Slack is not configured (console mode)' : 'Slack runs in Socket Mode' });
      },
    });
    const routes = [...baseRoutes, ...featureRoutes];
    server = createHttpServer(() => routes, logger);
    port = await listen(server, opts.port ?? config.env.PORT);
    await slackApp?.start();
    const s = server;
    shutdown.add('http', 10, () => closeServer(s));
    if (slackApp) shutdown.add('slack', 11, () => slackApp!.stop());
    logger.info({ port, slack: config.slack.kind }, 'web role listening');
  }

  let workerRedis: Redis | null = null;
  if (opts.roles.includes('worker')) {
    workerRedis = createRedis(config.env.REDIS_URL, 'worker', logger);
    workers.push(...createWorkers(ctx, workerRedis, config.env.RETAIN_QUEUE_PREFIX, jobHandlersOf(features)));
    if (ctx.queues && opts.schedules !== false) {
      const specs = [];
      for (const f of features.flatMap((x) => x.schedules ?? [])) specs.push(...(await f(ctx)));
      await registerSchedules(ctx.queues, specs, logger);
      for (const catchUp of features.flatMap((x) => x.workerStart ?? [])) {
        await catchUp(ctx).catch((err: Error) => logger.warn({ err: err.message }, 'start-up catch-up failed; the schedules will cover it'));
      }
    }
    shutdown.add('workers', 20, () => Promise.all(workers.map((w) => w.close())));
    logger.info({ queues: workers.map((w) => w.name) }, 'worker role running');
  }

  shutdown.add('queues+db', 40, () => built.close());
  if (workerRedis) {
    const r = workerRedis;
    shutdown.add('worker redis', 45, async () => r.disconnect());
  }
  if (opts.handleSignals) shutdown.onSignals();

  return { ctx, port, server, slackApp, workers, shutdown, stop: () => shutdown.run('stop') };
}
