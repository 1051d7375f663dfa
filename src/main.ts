import type { Worker } from 'bullmq';
import type { Server } from 'node:http';
import { loadConfig, type AppConfig } from './config/index.js';
import { jobHandlersOf, wire, type Feature } from './feature.js';
import { features as allFeatures } from './features.js';
import { bindQueuePrefix } from './jobs/prefix-guard.js';
import { Queues } from './jobs/queues.js';
import { createRedisWatch, type RestoreReason } from './jobs/redis-watch.js';
import { registerSchedules } from './jobs/schedules.js';
import { createWorkers } from './jobs/worker.js';
import { systemClock, type Clock } from './platform/clock.js';
import type { AppContext } from './platform/context.js';
import { createDb, type DbHandle } from './platform/db.js';
import { checkHealth, type ExtraCheck } from './platform/health.js';
import { installProcessGuards } from './platform/process-guards.js';
import { closeServer, createHttpServer, listen, sendJson, type Route } from './platform/http.js';
import { metricsRoute } from './platform/metrics-route.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createAndMigrate } from './platform/migrate.js';
import { createReadRouting, primaryOnly, routedReadDb, type ReadRouting } from './platform/read-routing.js';
import { createRedis, type RedisClient } from './platform/redis.js';
import { scoringConfigFrom } from './scores/scoring.config.js';
import { Shutdown } from './platform/shutdown.js';
import type { SlackApp } from './slack/app.js';
import { REQUEST_BUDGET_MS } from './slack/budget.js';
import { createConsoleGateway, createWebGateway, type SlackGateway } from './slack/gateway.js';
import { createSlackHealth, type SlackHealth, type SlackHealthOptions } from './slack/health.js';

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
  /** How the background check of the bot token backs off (tests shorten it). */
  slackHealth?: SlackHealthOptions;
}

export interface Built {
  ctx: AppContext;
  redis: RedisClient | null;
  dbHandle: DbHandle;
  replicaHandle: DbHandle | null;
  /** With a replica: its monitor, and routers over other handles (the web role's request pools). */
  readRouting: ReadRouting | null;
  close(): Promise<void>;
}

/** A replica that does not answer soon is skipped for the primary: the request must still have time for it. */
const REPLICA_POOL = { connectionTimeoutMs: 500 };

/** Composition root: config → db, redis, logger → context. */
export function buildContext(opts: BuildOptions = {}): Built {
  const config = opts.config ?? loadConfig();
  const logger = opts.logger ?? createLogger(config.env.LOG_LEVEL);
  const dbHandle = createDb(config.env.DATABASE_URL, logger);
  const replicaHandle = config.env.DATABASE_REPLICA_URL ? createDb(config.env.DATABASE_REPLICA_URL, logger, REPLICA_POOL) : null;
  const redis = opts.withQueues === false ? null : createRedis(config.env, 'producer', logger);
  const readRouting = replicaHandle
    ? createReadRouting({ primaryPool: dbHandle.pool, replicaPool: replicaHandle.pool, redis, prefix: config.env.RETAIN_QUEUE_PREFIX, logger })
    : null;
  readRouting?.monitor.start();
  const readDb = replicaHandle && readRouting ? routedReadDb(replicaHandle.db, dbHandle.db, readRouting.monitor) : dbHandle.db;
  const queues = redis ? new Queues(redis, config.env.RETAIN_QUEUE_PREFIX, logger) : null;
  const slack = opts.slack ?? (config.slack.kind === 'console' ? createConsoleGateway() : createWebGateway(config.slack.botToken, config.env.SLACK_API_URL));
  const authTest = slack.mode === 'slack' ? slack.authTest?.bind(slack) : undefined;
  const slackHealth: SlackHealth | null = authTest ? createSlackHealth(authTest, logger, opts.slackHealth) : null;
  const ctx: AppContext = {
    config,
    db: dbHandle.db,
    readDb,
    reads: readRouting ? readRouting.router(dbHandle.db, readDb) : primaryOnly(dbHandle.db),
    logger,
    clock: opts.clock ?? systemClock,
    slack,
    slackHealth,
    queues,
    wiring: wire(opts.features ?? allFeatures),
  };
  return {
    ctx,
    redis,
    dbHandle,
    replicaHandle,
    readRouting,
    async close() {
      readRouting?.monitor.stop();
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
  /** Where a worker without the web role serves /metrics (METRICS_PORT), else null. */
  metricsPort: number | null;
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
  /**
   * Register repeating schedules when the worker starts, and watch Redis for
   * lost queues (default true; the demo and crash tests drive jobs themselves).
   */
  schedules?: boolean;
}

/** How long shutdown waits for running jobs (they hand their work back when told to stop) before it moves on. */
const WORKER_CLOSE_MS = 6_000;

/** Start the web and/or worker roles; shutdown runs in a fixed order. */
export async function start(opts: StartOptions): Promise<Running> {
  const config = opts.config ?? loadConfig();
  // A bad scoring section (weights, bands…) stops start-up with a line naming the setting.
  scoringConfigFrom(config.settings);
  const logger = opts.logger ?? createLogger(config.env.LOG_LEVEL);
  // A long-running role logs what escaped every handler and keeps serving.
  if (opts.handleSignals) installProcessGuards(logger);
  if (opts.migrate !== false) await createAndMigrate(config.env.DATABASE_URL, logger);
  const features = opts.features ?? allFeatures;
  const built = buildContext({ ...opts, config, logger, features });
  const { ctx } = built;
  const prefix = config.env.RETAIN_QUEUE_PREFIX;
  // The prefix was given a hash tag if it had none (see config/env.ts): say which one is in use.
  if (config.env.REDIS_CLUSTER_NODES)
    logger.info({ prefix, seeds: config.env.REDIS_CLUSTER_NODES.length }, 'Redis Cluster: every key under the prefix, in its hash tag’s slot');
  if (built.redis) {
    try {
      await bindQueuePrefix(ctx.db, built.redis, prefix, logger);
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
  // Slack unreachable or the token refused: retain starts anyway, says so, and keeps checking.
  if (ctx.slackHealth) {
    const health = ctx.slackHealth;
    health.start();
    shutdown.add('slack health', 12, async () => health.stop());
  }

  if (opts.roles.includes('web')) {
    // Slack's requests read through a pool of their own whose statements
    // Postgres cancels in time for an answer within Slack's 3 seconds.
    // Enough connections that every admitted slash command (and a few clicks beside them) has one at once.
    const requestPool = { statementTimeoutMs: REQUEST_BUDGET_MS, max: config.settings.slash.maxConcurrent + 4 };
    const requestDb = createDb(config.env.DATABASE_URL, logger, requestPool);
    const requestReplica = config.env.DATABASE_REPLICA_URL ? createDb(config.env.DATABASE_REPLICA_URL, logger, { ...requestPool, ...REPLICA_POOL }) : null;
    const routing = built.readRouting;
    const requestReadDb = requestReplica && routing ? routedReadDb(requestReplica.db, requestDb.db, routing.monitor) : requestDb.db;
    const requestCtx: AppContext = {
      ...ctx,
      db: requestDb.db,
      readDb: requestReadDb,
      reads: routing ? routing.router(requestDb.db, requestReadDb) : primaryOnly(requestDb.db),
    };
    if (config.slack.kind !== 'console') {
      // Bolt (and the web server under it) loads only where Slack is served: CLI verbs start faster without it.
      const { createSlackApp } = await import('./slack/app.js');
      slackApp = createSlackApp(
        requestCtx,
        config.slack,
        features.flatMap((f) => f.listeners ?? []),
        { redis: built.redis, prefix },
      );
    }
    const redisData: ExtraCheck = {
      // Every role binds the prefix at start and the worker binds it again when it restores: a Redis that lost its data has no binding.
      name: 'redis_data',
      critical: true,
      run: async () =>
        !built.redis || (await built.redis.exists(`${prefix}:database`))
          ? { ok: true }
          : { ok: false, error: 'Redis lost its data: schedules and queued work are missing until a worker restores them' },
    };
    const slackCheck: ExtraCheck[] = ctx.slackHealth
      ? [
          {
            name: 'slack',
            critical: false,
            run: () => {
              const st = ctx.slackHealth!.state();
              return st.ok ? { ok: true } : { ok: false, error: `${st.error ?? 'unknown'}; deliveries wait in the outbox` };
            },
          },
        ]
      : [];
    // The replica down or behind is degraded, not failing: reads go to the primary meanwhile.
    const replicaCheck: ExtraCheck[] = routing
      ? [
          {
            name: 'replica',
            critical: false,
            run: () => {
              const st = routing.monitor.state();
              return st.state === 'up' ? { ok: true } : { ok: false, error: `${st.state}: ${st.error}; reads go to the primary` };
            },
          },
        ]
      : [];
    const baseRoutes: Route[] = [
      {
        method: 'GET',
        path: '/healthz',
        handler: async (_req, res) => {
          const report = await checkHealth(ctx.db, built.redis, 2_000, [redisData, ...slackCheck, ...replicaCheck]);
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
    shutdown.add('request db', 41, async () => {
      await requestReplica?.close();
      await requestDb.close();
    });
    logger.info({ port, slack: config.slack.kind }, 'web role listening');
  }

  let workerRedis: RedisClient | null = null;
  let metricsPort: number | null = null;
  if (opts.roles.includes('worker')) {
    workerRedis = createRedis(config.env, 'worker', logger);
    workers.push(...createWorkers(ctx, workerRedis, prefix, jobHandlersOf(features)));
    if (ctx.queues && built.redis && opts.schedules !== false) {
      const queues = ctx.queues;
      const redis = built.redis;
      const restore = async (reason: RestoreReason) => {
        const specs = [];
        for (const f of features.flatMap((x) => x.schedules ?? [])) specs.push(...(await f(ctx)));
        await registerSchedules(queues, specs, logger);
        // Redis lost (or may have lost) queued jobs: each feature puts its own back from Postgres.
        if (reason !== 'start') for (const refeed of features.flatMap((f) => f.refeed ?? [])) await refeed(ctx);
        await bindQueuePrefix(ctx.db, redis, prefix, logger);
        // Catch up on what happened while no worker ran, or while Redis held no jobs:
        // customers never scored or changed since, reminders due.
        for (const catchUp of features.flatMap((x) => x.workerStart ?? [])) {
          await catchUp(ctx).catch((err: Error) => logger.warn({ err: err.message }, 'catch-up failed; the schedules will cover it'));
        }
      };
      const watch = createRedisWatch({ redis, prefix, logger, intervalMs: config.settings.recovery.redisCheckMs, restore });
      // Redis down at start is not fatal: the watch restores once it answers.
      await watch.check({ starting: true });
      watch.start();
      shutdown.add('redis watch', 15, () => watch.stop());
    }
    shutdown.add('workers', 20, async () => {
      // Running jobs are told to stop (they hand back what is left); one that
      // does not finish in time stays active in Redis and is re-run elsewhere.
      const closed = Promise.all(workers.map((w) => w.close())).then(() => true);
      const inTime = await Promise.race([closed, new Promise<false>((r) => setTimeout(() => r(false), WORKER_CLOSE_MS).unref())]);
      if (!inTime) logger.warn('jobs still running at shutdown are left to be re-run');
    });
    if (!opts.roles.includes('web') && config.env.METRICS_PORT !== undefined) {
      // A worker alone has no web server: its own counters are scraped here.
      const health: Route = {
        method: 'GET',
        path: '/healthz',
        handler: async (_req, res) => {
          const report = await checkHealth(ctx.db, built.redis, 2_000);
          sendJson(res, report.ok ? 200 : 503, report);
        },
      };
      const routes = [health, metricsRoute(ctx.queues)];
      const metricsServer = createHttpServer(() => routes, logger);
      metricsPort = await listen(metricsServer, config.env.METRICS_PORT);
      shutdown.add('metrics http', 10, () => closeServer(metricsServer));
    }
    logger.info({ queues: workers.map((w) => w.name), metricsPort }, 'worker role running');
  }

  shutdown.add('queues+db', 40, () => built.close());
  if (workerRedis) {
    const r = workerRedis;
    shutdown.add('worker redis', 45, async () => r.disconnect());
  }
  if (opts.handleSignals) shutdown.onSignals();

  return { ctx, port, metricsPort, server, slackApp, workers, shutdown, stop: () => shutdown.run('stop') };
}
