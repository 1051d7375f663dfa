import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * A lean Web API call for the delivery hot path (chat.postMessage). The SDK's
 * WebClient costs about half a millisecond of CPU per call (fetch, abort
 * signals, a request queue, form encoding, debug strings built even when
 * debug is off); at thousands of paced posts a second that CPU is what holds
 * the posts back. This is one JSON POST over a keep-alive socket.
 *
 * Failures are thrown in the SDK's shapes (`code` slack_webapi_platform_error
 * with `data.error`, slack_webapi_rate_limited_error with `retryAfter`,
 * slack_webapi_http_error with `statusCode`), so one classifier reads both.
 */
export class SlackCallError extends Error {
  constructor(
    readonly code: 'slack_webapi_platform_error' | 'slack_webapi_rate_limited_error' | 'slack_webapi_http_error' | 'slack_webapi_request_error',
    message: string,
    readonly extra: { data?: { ok: false; error: string }; retryAfter?: number; statusCode?: number; causeCode?: string } = {},
  ) {
    super(message);
    this.name = 'SlackCallError';
  }
  get data() {
    return this.extra.data;
  }
  get retryAfter() {
    return this.extra.retryAfter;
  }
  get statusCode() {
    return this.extra.statusCode;
  }
  /** The network error behind a request error (ECONNREFUSED…): whether the request ever left. */
  get causeCode() {
    return this.extra.causeCode;
  }
}

export type SlackCall = (method: string, body: Record<string, unknown>) => Promise<Record<string, unknown>>;

const DEFAULT_API_URL = 'https://slack.com/api/';

export function createSlackCall(token: string, apiUrl: string | undefined, timeoutMs = 10_000): SlackCall {
  const base = new URL(apiUrl ?? DEFAULT_API_URL);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const https = base.protocol === 'https:';
  // A bounded pool of kept-alive sockets: a post takes a millisecond or so, so
  // a few dozen carry a thousand posts a second, and a burst of deliveries
  // never opens hundreds of connections at once (a full accept queue costs
  // a one-second SYN retry).
  const agentOptions = { keepAlive: true, maxSockets: 64, maxFreeSockets: 64 };
  const agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const send = https ? httpsRequest : httpRequest;
  const auth = `Bearer ${token}`;

  return (method, body) =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body), 'utf8');
      const req = send(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port || (https ? 443 : 80),
          path: `${base.pathname}${method}`,
          method: 'POST',
          agent,
          timeout: timeoutMs,
          headers: { authorization: auth, 'content-type': 'application/json; charset=utf-8', 'content-length': payload.length },
        },
        (res) => readAnswer(method, res).then(resolve, reject),
      );
      req.on('timeout', () => req.destroy(new SlackCallError('slack_webapi_request_error', `${method}: no answer within ${timeoutMs} ms`)));
      req.on('error', (e: Error & { code?: string }) =>
        reject(
          e instanceof SlackCallError ? e : new SlackCallError('slack_webapi_request_error', `${method}: ${e.message}`, e.code ? { causeCode: e.code } : {}),
        ),
      );
      req.end(payload);
    });
}

function readAnswer(method: string, res: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', (e) => reject(new SlackCallError('slack_webapi_request_error', `${method}: ${e.message}`)));
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      if (status === 429) {
        const retryAfter = Number(res.headers['retry-after']);
        return reject(
          new SlackCallError('slack_webapi_rate_limited_error', `${method}: rate limited`, {
            retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1,
          }),
        );
      }
      if (status !== 200) return reject(new SlackCallError('slack_webapi_http_error', `${method}: HTTP ${status}`, { statusCode: status }));
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return reject(new SlackCallError('slack_webapi_http_error', `${method}: answer was not JSON`, { statusCode: status }));
      }
      if (json.ok !== true) {
        const error = typeof json.error === 'string' ? json.error : 'unknown_error';
        return reject(new SlackCallError('slack_webapi_platform_error', `${method}: ${error}`, { data: { ok: false, error } }));
      }
      resolve(json);
    });
  });
}
