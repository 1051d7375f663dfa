import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';

/**
 * A real HTTP server that speaks the parts of Slack's Web API retain uses, plus
 * response_url endpoints. It records every call. It can enforce Slack's
 * one-message-per-second-per-channel limit (429 + Retry-After) and be told to
 * fail with 500s or permanent errors.
 */
export interface RecordedCall {
  method: string;
  body: Record<string, unknown>;
  at: number;
}
export interface Posted {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  at: number;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export interface SlackDouble {
  url: string;
  /** Base for response_url values: `${responseBase}/<id>`. */
  responseBase: string;
  calls: RecordedCall[];
  posted: Posted[];
  updates: Posted[];
  responses: { id: string; body: Record<string, unknown>; at: number }[];
  /** Per-channel minimum gap in ms (0 = no limit). */
  rateLimitMs: number;
  /** Seconds in Retry-After when rate limited. */
  retryAfterSeconds: number;
  rateLimited: number;
  failNext(method: string, times: number, how: { status?: number; error?: string }): void;
  failChannel(channel: string, error: string): void;
  /** Stop failing a channel (after failChannel). */
  unfailChannel(channel: string): void;
  /**
   * Delay the answer to chat.postMessage by this many ms, after the message is
   * recorded: a worker killed meanwhile leaves a message Slack has but it never saw acknowledged.
   */
  postLatencyMs: number;
  /**
   * Answer a Web API method with a handler of one's own (the Socket Mode double
   * answers apps.connections.open this way); the call is still recorded.
   */
  answer(method: string, handler: (call: { body: Record<string, unknown>; headers: IncomingHttpHeaders }) => Record<string, unknown>): void;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const params = new URLSearchParams(raw);
  const out: Record<string, unknown> = {};
  for (const [k, v] of params) {
    if ((k === 'blocks' || k === 'view' || k === 'attachments' || k === 'metadata') && (v.startsWith('[') || v.startsWith('{'))) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        /* keep string */
      }
    }
    out[k] = v;
  }
  return out;
}

/** `port`: listen there (a test that starts Slack only after the app, at the address the app was given). */
export async function startSlackDouble(opts: { port?: number } = {}): Promise<SlackDouble> {
  const calls: RecordedCall[] = [];
  const posted: Posted[] = [];
  const updates: Posted[] = [];
  const responses: SlackDouble['responses'] = [];
  const lastPostAt = new Map<string, number>();
  const failures = new Map<string, { times: number; status?: number; error?: string }>();
  const channelFailures = new Map<string, string>();
  const answers = new Map<string, Parameters<SlackDouble['answer']>[1]>();
  let seq = 0;

  const double: SlackDouble = {
    url: '',
    responseBase: '',
    calls,
    posted,
    updates,
    responses,
    rateLimitMs: 0,
    retryAfterSeconds: 1,
    rateLimited: 0,
    failNext(method, times, how) {
      failures.set(method, { times, ...how });
    },
    unfailChannel(channel) {
      channelFailures.delete(channel);
    },
    postLatencyMs: 0,
    answer(method, handler) {
      answers.set(method, handler);
    },
    failChannel(channel, error) {
      channelFailures.set(channel, error);
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > until) throw new Error('slack double: timed out waiting');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    reset() {
      calls.length = 0;
      posted.length = 0;
      updates.length = 0;
      responses.length = 0;
      lastPostAt.clear();
      failures.clear();
      channelFailures.clear();
      double.rateLimited = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = await readBody(req);
    const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    if (url.pathname.startsWith('/response/')) {
      responses.push({ id: url.pathname.slice('/response/'.length), body, at: Date.now() });
      return send(200, { ok: true });
    }
    const method = url.pathname.replace(/^\/api\//, '').replace(/^\//, '');
    calls.push({ method, body, at: Date.now() });
    const failure = failures.get(method);
    if (failure && failure.times > 0) {
      failure.times--;
      if (failure.status && failure.status >= 500) return send(failure.status, { ok: false, error: 'internal_error' });
      return send(200, { ok: false, error: failure.error ?? 'fatal_error' });
    }
    const answer = answers.get(method);
    if (answer) return send(200, answer({ body, headers: req.headers }));
    const channel = String(body.channel ?? '');
    switch (method) {
      case 'auth.test':
        return send(200, { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1', user: 'retain', team: 'Test' });
      case 'chat.postMessage': {
        if (channelFailures.has(channel)) return send(200, { ok: false, error: channelFailures.get(channel) });
        const now = Date.now();
        const last = lastPostAt.get(channel);
        if (double.rateLimitMs > 0 && last !== undefined && now - last < double.rateLimitMs) {
          double.rateLimited++;
          return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(double.retryAfterSeconds) });
        }
        lastPostAt.set(channel, now);
        const ts = `${Math.floor(now / 1000)}.${String(++seq).padStart(6, '0')}`;
        posted.push({
          channel,
          ts,
          text: String(body.text ?? ''),
          blocks: (body.blocks as unknown[]) ?? [],
          at: now,
          ...(body.metadata ? { metadata: body.metadata as Posted['metadata'] } : {}),
        });
        if (double.postLatencyMs > 0) await new Promise((r) => setTimeout(r, double.postLatencyMs));
        return send(200, { ok: true, channel, ts, message: { text: body.text } });
      }
      case 'conversations.history': {
        const oldest = Number(body.oldest ?? 0);
        const messages = posted
          .filter((p) => p.channel === channel && Number(p.ts) >= oldest)
          .reverse()
          .map((p) => ({ type: 'message', ts: p.ts, text: p.text, ...(p.metadata ? { metadata: p.metadata } : {}) }));
        return send(200, { ok: true, messages, has_more: false });
      }
      case 'chat.update':
        updates.push({ channel, ts: String(body.ts), text: String(body.text ?? ''), blocks: (body.blocks as unknown[]) ?? [], at: Date.now() });
        return send(200, { ok: true, channel, ts: body.ts });
      case 'chat.postEphemeral':
        return send(200, { ok: true, message_ts: `${Date.now() / 1000}` });
      case 'conversations.open':
        return send(200, { ok: true, channel: { id: `D${String(body.users ?? 'X').replace(/^U/, '')}` } });
      case 'chat.getPermalink':
        return send(200, { ok: true, permalink: `https://example.slack.com/archives/${channel}/p${String(body.message_ts).replace('.', '')}` });
      case 'views.open':
      case 'views.publish':
      case 'views.update':
      case 'views.push':
        return send(200, { ok: true, view: { id: `V${++seq}` } });
      case 'users.info':
        return send(200, { ok: true, user: { id: body.user, name: 'someone', real_name: 'Some One' } });
      default:
        return send(200, { ok: true });
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  double.url = `http://127.0.0.1:${port}/api/`;
  double.responseBase = `http://127.0.0.1:${port}/response`;
  return double;
}
