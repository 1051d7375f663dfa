import { App, HTTPReceiver, type Authorize } from '@slack/bolt';
import type { RedisClient } from '../platform/redis.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SlackMode } from '../config/index.js';
import type { AppContext } from '../platform/context.js';
import { withDeadline } from '../platform/deadline.js';
import { boltLogger } from './bolt-logger.js';
import { webClientOptions } from './gateway.js';
import { slackGate } from './http-gate.js';
import { createReplayGuard } from './replay.js';
import { stripNul } from './request.rules.js';
import { REQUEST_BUDGET_MS } from './budget.js';
import { refuseAtOnce, registerSlashCommands, slashAdmission } from './slash.js';
import { refreshingSocketModeReceiver } from './socket-mode.js';

/** A feature's Bolt listeners (actions, views, shortcuts, events), registered on the app it is given. */
export type ListenerRegistrar = (app: App, ctx: AppContext) => void;

export interface SlackApp {
  app: App;
  /** For HTTP mode: the handler of POST /slack/events (signature verified by Bolt). */
  handleHttp?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Socket Mode when SLACK_APP_TOKEN is set (opening the new connection before
 * closing the old one when Slack recycles it); otherwise Bolt's HTTP receiver,
 * mounted on our own server at /slack/events behind a gate (signature within
 * five minutes either way, shapes Slack sends, replays answered without
 * acting). The slash commands come from the context's wiring; `listeners`
 * are the features' own.
 *
 * Bolt does not check the token itself (it would call auth.test at start
 * and crash when Slack is unreachable or the token revoked): the context's
 * Slack health check does, in the background, and lends Bolt the bot's ids.
 */
export function createSlackApp(
  ctx: AppContext,
  mode: Exclude<SlackMode, { kind: 'console' }>,
  listeners: readonly ListenerRegistrar[],
  deps: { redis?: RedisClient | null; prefix?: string } = {},
): SlackApp {
  const logger = boltLogger(ctx.logger);
  const clientOptions = webClientOptions(ctx.config.env.SLACK_API_URL);
  const authorize: Authorize<boolean> = async () => {
    const s = ctx.slackHealth?.state();
    return { botToken: mode.botToken, ...(s?.botId ? { botId: s.botId } : {}), ...(s?.botUserId ? { botUserId: s.botUserId } : {}) };
  };
  const admission = slashAdmission(ctx);
  const register = (app: App) => {
    // Before any listener: NUL characters out of everything a person typed
    // (Postgres text cannot hold them), and a deadline on the work.
    app.use(async ({ body, next }) => {
      stripNul(body);
      // Events (App Home) have no one waiting on an answer; everything else does.
      if ((body as { type?: unknown }).type === 'event_callback') return next();
      await withDeadline(REQUEST_BUDGET_MS, next);
    });
    registerSlashCommands(app, ctx, admission);
    for (const r of listeners) r(app, ctx);
  };
  if (mode.kind === 'socket') {
    const receiver = refreshingSocketModeReceiver({ appToken: mode.appToken, logger, apiUrl: ctx.config.env.SLACK_API_URL });
    const app = new App({ authorize, receiver, socketMode: true, logger, clientOptions });
    register(app);
    // Slack unreachable (or the app token refused) must not stop retain from
    // starting: connect in the background, retrying with backoff, and say so.
    let stopped = false;
    let connected = false;
    const connect = async () => {
      for (let attempt = 0; !stopped && !connected; attempt++) {
        try {
          await app.start();
          connected = true;
        } catch (error) {
          const delay = Math.min(60_000, 1_000 * 2 ** Math.min(attempt, 6));
          ctx.logger.error({ err: (error as Error).message, retryInMs: delay }, 'could not open the Socket Mode connection to Slack; retrying');
          await new Promise((r) => setTimeout(r, delay).unref());
        }
      }
    };
    return {
      app,
      start: async () => {
        void connect();
      },
      stop: async () => {
        stopped = true;
        if (connected) await app.stop();
      },
    };
  }
  const receiver = new HTTPReceiver({
    signingSecret: mode.signingSecret,
    endpoints: '/slack/events',
    logger,
    processBeforeResponse: false,
    unhandledRequestTimeoutMillis: 3_001,
  });
  const app = new App({ authorize, receiver, logger, clientOptions });
  register(app);
  const gate = slackGate({
    signingSecret: mode.signingSecret,
    replay: createReplayGuard(deps.redis ?? null, deps.prefix ?? ctx.config.env.RETAIN_QUEUE_PREFIX, ctx.logger),
    logger: ctx.logger,
    refuse: (body) => refuseAtOnce(admission, body),
    pass: (req, res) => receiver.requestListener(req, res),
  });
  return {
    app,
    handleHttp: gate,
    start: async () => undefined,
    stop: async () => undefined,
  };
}
