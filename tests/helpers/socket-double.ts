import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { SlackDouble } from './slack-double.js';

/**
 * Slack's side of Socket Mode, on 127.0.0.1: `apps.connections.open` (answered
 * by the Web API double) hands out a single-use `ws://` URL; the WebSocket
 * server greets each connection with `hello`, pings it, delivers envelopes
 * shaped as Slack sends them, and records the app's acknowledgements.
 *
 * Like Slack, it delivers an envelope over one open connection and never
 * re-sends a slash command or an interaction: if the app does not ack one in
 * time, the person sees an error in Slack instead. After asking a connection
 * to go away (`disconnect`), it delivers over another greeted one, and over
 * the old one only while there is no other. Each ack is recorded with the
 * connection that carried it.
 */
export const APP_TOKEN = 'xapp-1-A0RETAIN-1-test';
const APP_ID = 'A0RETAIN';

export interface Envelope {
  type: 'slash_commands' | 'interactive' | 'events_api';
  envelope_id: string;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface Ack {
  envelope_id: string;
  payload?: Record<string, unknown>;
  /** Which connection (1-based, in the order they opened) carried it. */
  connection: number;
  at: number;
}

export interface SocketModeDouble {
  /** apps.connections.open calls answered with a URL. */
  opened: number;
  /** Connections greeted with `hello`, in order; `open` turns false when either side closes it. */
  connections: { id: number; open: boolean; closedBy?: 'app' | 'slack' }[];
  delivered: (Envelope & { connection: number })[];
  acks: Ack[];
  /** Wait until `count` connections in all have been greeted (1 after start, 2 after one reconnect…). */
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  /** Wait until connection `id` has closed. */
  waitForClosed(id: number, timeoutMs?: number): Promise<void>;
  /** Connections opened from now on wait for `hello` (Slack still setting them up) until `releaseHellos()`. */
  holdHellos(): void;
  /** Wait until `count` connections are open and waiting for their `hello`. */
  waitForHeld(count?: number, timeoutMs?: number): Promise<void>;
  /** Greet the waiting connections, and greet new ones at once again. */
  releaseHellos(): void;
  /** Answer the next apps.connections.open with this error (Slack having a bad moment). */
  failNextOpen(error: string): void;
  /** WebSockets the app holds open right now, greeted or not. */
  openSockets(): number;
  slashCommand(o: { command: string; text: string; userId: string; responseUrl: string; channelId?: string }): Envelope;
  interactive(payload: Record<string, unknown>): Envelope;
  event(event: Record<string, unknown>, o?: { eventId?: string; retryAttempt?: number; retryReason?: string }): Envelope;
  /** Ask the app to reconnect, as Slack does before recycling a connection. */
  disconnect(reason: 'refresh_requested' | 'warning'): void;
  /** Drop the current connection without a close frame (a network failure or a Slack host dying). */
  drop(): void;
  /** Whatever `send` delivers goes out in one TCP write, so the app reads it all at once. */
  together<T>(send: () => T): T;
  acksFor(envelopeId: string): Ack[];
  waitForAck(envelopeId: string, timeoutMs?: number): Promise<Ack>;
  close(): Promise<void>;
}

interface Live {
  id: number;
  ws: WebSocket;
  draining: boolean;
  pinger: NodeJS.Timeout;
}

async function waitUntil(predicate: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`socket mode double: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Attach Socket Mode to a Web API double; the app connects with SLACK_APP_TOKEN = APP_TOKEN. */
export async function startSocketModeDouble(slack: SlackDouble): Promise<SocketModeDouble> {
  const tickets = new Set<string>();
  const live: Live[] = [];
  const connections: SocketModeDouble['connections'] = [];
  const delivered: SocketModeDouble['delivered'] = [];
  const acks: Ack[] = [];
  const held: WebSocket[] = [];
  let holding = false;
  let openFailure: string | undefined;

  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    // A URL from apps.connections.open works once, as Slack's do.
    verifyClient: ({ req }: { req: IncomingMessage }) => {
      const ticket = new URL(req.url ?? '/', 'ws://x').searchParams.get('ticket') ?? '';
      return tickets.delete(ticket);
    },
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const address = wss.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  slack.answer('apps.connections.open', ({ headers }) => {
    const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (!token) return { ok: false, error: 'not_authed' };
    if (!token.startsWith('xapp-')) return { ok: false, error: 'not_allowed_token_type' };
    if (token !== APP_TOKEN) return { ok: false, error: 'invalid_auth' };
    if (openFailure) {
      const error = openFailure;
      openFailure = undefined;
      return { ok: false, error };
    }
    const ticket = randomUUID();
    tickets.add(ticket);
    double.opened++;
    return { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${APP_ID}` };
  });

  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    if (!holding) return greet(ws);
    held.push(ws);
    ws.once('close', () => {
      const at = held.indexOf(ws);
      if (at >= 0) held.splice(at, 1);
    });
  });

  function greet(ws: WebSocket): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    const id = connections.length + 1;
    const record: SocketModeDouble['connections'][number] = { id, open: true };
    connections.push(record);
    // Slack pings every few seconds; the SDK reconnects when pings stop.
    const conn: Live = { id, ws, draining: false, pinger: setInterval(() => ws.ping(), 5_000) };
    live.push(conn);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(String(data)) as { envelope_id?: string; payload?: Record<string, unknown> };
      if (msg.envelope_id)
        acks.push({ envelope_id: msg.envelope_id, ...(msg.payload !== undefined ? { payload: msg.payload } : {}), connection: id, at: Date.now() });
    });
    ws.on('close', () => {
      clearInterval(conn.pinger);
      live.splice(live.indexOf(conn), 1);
      if (record.open) {
        record.open = false;
        record.closedBy ??= 'app';
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: live.length,
        debug_info: { host: `applink-test-${id}`, build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: APP_ID },
      }),
    );
  }

  /** Slack picks one open connection it has not asked to go away, or else one it has but that is still open. */
  function deliver(envelope: Envelope): Envelope {
    const open = [...live].reverse().filter((c) => c.ws.readyState === WebSocket.OPEN);
    const conn = open.find((c) => !c.draining) ?? open[0];
    if (!conn) throw new Error(`no open Socket Mode connection: Slack would show the person "dispatch_failed" for ${envelope.type}`);
    conn.ws.send(JSON.stringify(envelope));
    delivered.push({ ...envelope, connection: conn.id });
    return envelope;
  }

  const double: SocketModeDouble = {
    opened: 0,
    connections,
    delivered,
    acks,
    waitForConnections: (count, timeoutMs = 20_000) =>
      waitUntil(() => connections.length >= count && live.some((c) => c.id === count), `connection ${count}`, timeoutMs),
    waitForClosed: (id, timeoutMs = 10_000) => waitUntil(() => connections[id - 1]?.open === false, `connection ${id} to close`, timeoutMs),
    holdHellos() {
      holding = true;
    },
    waitForHeld: (count = 1, timeoutMs = 10_000) => waitUntil(() => held.length >= count, `${count} connection(s) waiting for hello`, timeoutMs),
    releaseHellos() {
      holding = false;
      for (const ws of held.splice(0)) greet(ws);
    },
    failNextOpen(error) {
      openFailure = error;
    },
    openSockets: () => [...wss.clients].filter((ws) => ws.readyState === WebSocket.OPEN).length,
    slashCommand(o) {
      return deliver({
        type: 'slash_commands',
        envelope_id: randomUUID(),
        payload: {
          token: 'legacy',
          team_id: 'T1',
          team_domain: 'test',
          channel_id: o.channelId ?? 'C0TEST',
          channel_name: 'test',
          user_id: o.userId,
          user_name: o.userId.toLowerCase(),
          command: o.command,
          text: o.text,
          api_app_id: APP_ID,
          is_enterprise_install: 'false',
          response_url: o.responseUrl,
          trigger_id: `${Date.now()}.1.${randomUUID().slice(0, 8)}`,
        },
        accepts_response_payload: true,
      });
    },
    interactive(payload) {
      const acceptsResponse = payload.type === 'view_submission' || payload.type === 'block_suggestion';
      return deliver({
        type: 'interactive',
        envelope_id: randomUUID(),
        payload: { api_app_id: APP_ID, ...payload },
        accepts_response_payload: acceptsResponse,
      });
    },
    event(event, o = {}) {
      return deliver({
        type: 'events_api',
        envelope_id: randomUUID(),
        payload: {
          token: 'legacy',
          team_id: 'T1',
          api_app_id: APP_ID,
          event,
          type: 'event_callback',
          event_id: o.eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
          event_time: Math.floor(Date.now() / 1000),
          authorizations: [{ enterprise_id: null, team_id: 'T1', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
          is_ext_shared_channel: false,
        },
        accepts_response_payload: false,
        retry_attempt: o.retryAttempt ?? 0,
        retry_reason: o.retryReason ?? '',
      });
    },
    disconnect(reason) {
      const conn = live.at(-1);
      if (!conn) throw new Error('socket mode double: no connection to disconnect');
      conn.draining = true;
      conn.ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: `applink-test-${conn.id}` } }));
    },
    drop() {
      const conn = live.at(-1);
      if (!conn) throw new Error('socket mode double: no connection to drop');
      connections[conn.id - 1]!.closedBy = 'slack';
      conn.ws.terminate();
    },
    together(send) {
      const socket = (live.at(-1)?.ws as unknown as { _socket?: Socket } | undefined)?._socket;
      socket?.cork();
      try {
        return send();
      } finally {
        socket?.uncork();
      }
    },
    acksFor: (envelopeId) => acks.filter((a) => a.envelope_id === envelopeId),
    async waitForAck(envelopeId, timeoutMs = 10_000) {
      await waitUntil(() => acks.some((a) => a.envelope_id === envelopeId), `the ack of ${envelopeId}`, timeoutMs);
      return acks.find((a) => a.envelope_id === envelopeId)!;
    },
    async close() {
      for (const ws of held.splice(0)) ws.terminate();
      for (const c of [...live]) c.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  return double;
}
