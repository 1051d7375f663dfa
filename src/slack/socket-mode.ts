import { type Logger, SocketModeReceiver } from '@slack/bolt';
import { SocketModeClient, type SocketModeOptions } from '@slack/socket-mode';
import type { AppsConnectionsOpenResponse } from '@slack/web-api';

/**
 * Socket Mode that survives Slack recycling a connection without losing a
 * slash command.
 *
 * Slack asks the app to move to a new connection (`disconnect` with reason
 * `refresh_requested`, or `warning` shortly before it closes one) and keeps
 * the old one up meanwhile. @slack/socket-mode 3.1.0 closes the socket the
 * moment it reads that message, then waits `clientPingTimeout` (5 s) before
 * reconnecting: an envelope read just before can no longer be acked ("client
 * is not ready"), and commands typed in the gap find no connection. Slack
 * retries unacked events (with `retry_attempt`) but never a slash command or
 * a click, so the person sees an error.
 *
 * Here each WebSocket is its own library client (a `SlackConnection`), so an
 * envelope is acked on the socket it arrived on. On a refresh we open the new
 * connection first, wait for its `hello`, let the old one finish acking what
 * it read, then close it. Everything else — the first connect, reconnecting
 * after a dropped socket, retrying `apps.connections.open` with backoff — is
 * the library's own behaviour, per connection.
 */

/** Disconnect reasons after which Slack keeps the connection open for a while: time to open the next one first. */
const REFRESH_REASONS: ReadonlySet<string> = new Set(['refresh_requested', 'warning']);

/** Slack's deadline to ack an envelope; an envelope still unacked after this is lost whatever we do. */
const ACK_DEADLINE_MS = 3_000;

interface SlackEventArgs {
  envelope_id?: string;
}

/** One WebSocket to Slack: the library client, but it reports a refresh instead of closing at once, and knows what it has not acked. */
class SlackConnection extends SocketModeClient {
  private readonly unacked = new Set<string>();
  private retiring = false;
  private closed: Promise<void> | undefined;

  constructor(options: SocketModeOptions) {
    super(options);
    // Registered before the receiver's listener, so an envelope counts as unacked before Bolt can ack it.
    this.on('slack_event', ({ envelope_id }: SlackEventArgs) => {
      if (envelope_id) this.unacked.add(envelope_id);
    });
    this.on('outgoing_message', ({ envelope_id }: SlackEventArgs) => {
      if (envelope_id) this.unacked.delete(envelope_id);
    });
  }

  protected override async onWebSocketMessage(data: string | ArrayBuffer, isBinary: boolean): Promise<void> {
    const refresh = isBinary ? undefined : refreshReason(data);
    if (refresh) {
      this.emit('refresh_requested', refresh);
      return;
    }
    return super.onWebSocketMessage(data, isBinary);
  }

  get isRetiring(): boolean {
    return this.retiring;
  }

  /** Another connection takes over: from now on, when this socket closes (by Slack or by us) it must not reconnect by itself. */
  retire(): void {
    this.retiring = true;
    this.once('close', () => void this.close());
  }

  /** Close for good (no reconnect); safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= this.disconnect();
    return this.closed;
  }

  /** Resolves once every envelope read so far has been acked, the socket has closed, or `timeoutMs` has passed. */
  drained(timeoutMs: number): Promise<void> {
    if (this.unacked.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.unacked.size === 0) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.off('outgoing_message', check);
        this.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.on('outgoing_message', check);
      this.on('close', done);
    });
  }
}

/** The reason of a `disconnect` message Slack sends ahead of closing the connection; undefined for anything else. */
function refreshReason(data: string | ArrayBuffer): string | undefined {
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
  if (!text.includes('"disconnect"')) return undefined; // cheap pre-check: envelopes are parsed by the library anyway
  try {
    const msg = JSON.parse(text) as { type?: unknown; reason?: unknown };
    return msg.type === 'disconnect' && typeof msg.reason === 'string' && REFRESH_REASONS.has(msg.reason) ? msg.reason : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What Bolt's receiver starts, stops and listens to ('slack_event'): it holds
 * no socket itself, only the connections, and passes their envelopes on with
 * an `ack` bound to the connection each came from.
 */
export class RefreshingSocketModeClient extends SocketModeClient {
  private readonly connections = new Set<SlackConnection>();
  private stopping = false;

  constructor(private readonly options: SocketModeOptions & { logger: Logger }) {
    super(copyOptions(options));
  }

  override start(): Promise<AppsConnectionsOpenResponse> {
    this.stopping = false;
    return this.open().start();
  }

  /** Closes every connection: the live one, one being replaced, one still opening. */
  override async disconnect(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.connections].map((c) => c.close()));
  }

  private open(): SlackConnection {
    const conn = new SlackConnection(copyOptions(this.options));
    this.connections.add(conn);
    conn.on('slack_event', (args: SlackEventArgs) => this.emit('slack_event', args));
    conn.on('refresh_requested', (reason: string) => void this.replace(conn, reason));
    // A connection that finishes opening after app.stop() (it was fetching its URL, so there was
    // no socket to close then) must not stay open. disconnect(), not the once-only close().
    conn.on('connected', () => {
      if (this.stopping) void conn.disconnect();
    });
    conn.on('disconnected', () => this.connections.delete(conn));
    return conn;
  }

  /** Open-then-close: the old connection keeps serving until the new one is greeted and the old one has acked what it read. */
  private async replace(old: SlackConnection, reason: string): Promise<void> {
    if (this.stopping || old.isRetiring) return; // a second notice about a connection already being replaced
    const log = this.options.logger;
    log.info(`Slack asked for a new Socket Mode connection (${reason}); opening it before closing the old one`);
    old.retire();
    const next = this.open();
    try {
      // Resolves on `hello`; a failed attempt is retried with the library's backoff meanwhile.
      await next.start();
    } catch (error) {
      if (this.stopping) return; // app.stop() closed it while it was opening
      log.error(`Could not open a new Socket Mode connection: ${error instanceof Error ? error.message : String(error)}`);
      await next.close();
      return;
    }
    if (this.stopping) return;
    await old.drained(ACK_DEADLINE_MS);
    await old.close();
  }
}

/** The library writes its defaults into the options it is given: each client gets its own copy. */
function copyOptions(options: SocketModeOptions): SocketModeOptions {
  return { ...options, clientOptions: { ...options.clientOptions } };
}

/**
 * Bolt's SocketModeReceiver with our client in place of the one it built. Bolt
 * takes no client as an option, and registers its envelope listener on its
 * own client in the constructor, so that listener moves across before the swap.
 */
export function refreshingSocketModeReceiver(o: { appToken: string; logger: Logger; apiUrl: string | undefined }): SocketModeReceiver {
  const receiver = new SocketModeReceiver({ appToken: o.appToken, logger: o.logger });
  const client = new RefreshingSocketModeClient({
    appToken: o.appToken,
    logger: o.logger,
    // These clients only call apps.connections.open. They keep the library's retries (backoff,
    // Retry-After) instead of the app's no-retry Web API options: without retries, one network
    // error while reconnecting counts as unrecoverable and leaves the app with no connection.
    clientOptions: { ...(o.apiUrl ? { slackApiUrl: o.apiUrl } : {}), timeout: 10_000 },
  });
  for (const listener of receiver.client.listeners('slack_event')) client.on('slack_event', listener);
  receiver.client.removeAllListeners('slack_event');
  receiver.client = client;
  return receiver;
}
