import { App, HTTPReceiver } from '@slack/bolt';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SlackMode } from '../config/index.js';
import type { AppContext } from '../platform/context.js';
import { boltLogger } from './bolt-logger.js';
import { webClientOptions } from './gateway.js';
import { registerSlashCommands } from './slash.js';
import { refreshingSocketModeReceiver } from './socket-mode.js';

/** A feature's Bolt listeners (actions, views, shortcuts, events), registered on the app it is given. */
export type ListenerRegistrar = (app: App, ctx: AppContext) => void;

export interface SlackApp {
  app: App;
  /** For HTTP mode: the handler of POST /slack/events (signature verified by Bolt). */
  handleHttp?: (req: IncomingMessage, res: ServerResponse) => void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Socket Mode when SLACK_APP_TOKEN is set (opening the new connection before
 * closing the old one when Slack recycles it); otherwise Bolt's HTTP receiver,
 * mounted on our own server at /slack/events. Bolt's receiver verifies the
 * signing secret and rejects timestamps older than 5 minutes. The slash
 * commands come from the context's wiring; `listeners` are the features' own.
 */
export function createSlackApp(ctx: AppContext, mode: Exclude<SlackMode, { kind: 'console' }>, listeners: readonly ListenerRegistrar[]): SlackApp {
  const logger = boltLogger(ctx.logger);
  const clientOptions = webClientOptions(ctx.config.env.SLACK_API_URL);
  const register = (app: App) => {
    registerSlashCommands(app, ctx);
    for (const r of listeners) r(app, ctx);
  };
  if (mode.kind === 'socket') {
    const receiver = refreshingSocketModeReceiver({ appToken: mode.appToken, logger, apiUrl: ctx.config.env.SLACK_API_URL });
    const app = new App({ token: mode.botToken, receiver, socketMode: true, logger, clientOptions });
    register(app);
    return { app, start: async () => { await app.start(); }, stop: async () => { await app.stop(); } };
  }
  const receiver = new HTTPReceiver({
    signingSecret: mode.signingSecret,
    endpoints: '/slack/events',
    logger,
    processBeforeResponse: false,
    unhandledRequestTimeoutMillis: 3_001,
  });
  const app = new App({ token: mode.botToken, receiver, logger, clientOptions });
  register(app);
  return {
    app,
    handleHttp: (req, res) => receiver.requestListener(req, res),
    start: async () => undefined,
    stop: async () => undefined,
  };
}
