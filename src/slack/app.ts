import { App, HTTPReceiver } from '@slack/bolt';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SlackMode } from '../config/index.js';
import type { AppContext } from '../platform/context.js';
import { boltLogger } from './bolt-logger.js';
import { registerCustomerListeners } from './customer.listeners.js';
import { webClientOptions } from './gateway.js';

export type ListenerRegistrar = (app: App, ctx: AppContext) => void;

/** Feature modules add their listeners here (ownership, feedback, alerts, App Home). */
const registrars: ListenerRegistrar[] = [registerCustomerListeners];
export function addListeners(registrar: ListenerRegistrar): void {
  if (!registrars.includes(registrar)) registrars.push(registrar);
}

export interface SlackApp {
  app: App;
  /** For HTTP mode: the handler of POST /slack/events (signature verified by Bolt). */
  handleHttp?: (req: IncomingMessage, res: ServerResponse) => void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Socket Mode when SLACK_APP_TOKEN is set; otherwise Bolt's HTTP receiver,
 * mounted on our own server at /slack/events. Bolt's receiver verifies the
 * signing secret and rejects timestamps older than 5 minutes.
 */
export function createSlackApp(ctx: AppContext, mode: Exclude<SlackMode, { kind: 'console' }>): SlackApp {
  const logger = boltLogger(ctx.logger);
  const clientOptions = webClientOptions(ctx.config.env.SLACK_API_URL);
  if (mode.kind === 'socket') {
    const app = new App({ token: mode.botToken, appToken: mode.appToken, socketMode: true, logger, clientOptions });
    for (const r of registrars) r(app, ctx);
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
  for (const r of registrars) r(app, ctx);
  return {
    app,
    handleHttp: (req, res) => receiver.requestListener(req, res),
    start: async () => undefined,
    stop: async () => undefined,
  };
}
