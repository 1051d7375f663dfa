import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { AppContext } from '../platform/context.js';
import { withDeadline } from '../platform/deadline.js';
import { isBusy, isUnavailable } from '../platform/errors.js';
import { HttpError, readBody, sendJson, type Route } from '../platform/http.js';
import { metrics } from '../platform/metrics.js';

/**
 * The HTTP edge shared by every ingest endpoint: auth, backpressure, body
 * limits, error mapping, metrics and one structured log line per request.
 *
 * Backpressure: a process-local bound on requests in flight. Over the bound a
 * request is answered 503 + Retry-After at once, before its body is read; a
 * database that cannot take the batch in time (pool acquire timeout,
 * statement timeout, deadlock, too many connections) is a 503 as well. An
 * item is only ever answered as accepted after its transaction committed.
 * Nothing here touches Redis or Slack.
 */
export class InFlightLimit {
  private current = 0;
  constructor(readonly max: number) {
    metrics.ingestInFlight.set({}, 0);
  }
  get inFlight(): number {
    return this.current;
  }
  /** A release function, or null when the bound is reached. */
  tryAcquire(): (() => void) | null {
    if (this.current >= this.max) return null;
    this.current++;
    metrics.ingestInFlight.set({}, this.current);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.current--;
      metrics.ingestInFlight.set({}, this.current);
    };
  }
}

const RETRYABLE_PG = new Set(['53000', '53100', '53200', '53300', '57014', '57P01', '57P02', '57P03', '40001', '40P01', '55P03']);

/** Errors that mean "the database cannot take this now": answer 503 so the sender retries; nothing was committed. */
export function isOverload(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (RETRYABLE_PG.has(code) || code.startsWith('08') || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /timeout exceeded when trying to connect|Connection terminated|connection timeout/i.test(message) || isBusy(error) || isUnavailable(error);
}

export interface IngestReply {
  status: number;
  body: unknown;
  /** Counts for the request log line (never item contents). */
  log?: Record<string, number | string | boolean>;
}

export interface IngestEndpoint {
  /** Metrics and log label: 'events', 'customers', 'segment', 'stripe'. */
  name: string;
  path: string;
  /** Throw an HttpError (404 disabled, 401 bad credentials); runs before anything is read. */
  authenticate(req: IncomingMessage): void;
  /** Gzip bodies are inflated unless the endpoint needs the raw bytes (Stripe signs them). */
  rawBody?: boolean;
  handle(body: Buffer, req: IncomingMessage): Promise<IngestReply>;
}

const inflate = promisify(gunzip);

/** A sender that trickles its body must not hold an ingest slot for long. */
const BODY_TIMEOUT_MS = 30_000;

async function bodyOf(req: IncomingMessage, limit: number, raw: boolean): Promise<Buffer> {
  const timer = setTimeout(() => req.destroy(), BODY_TIMEOUT_MS);
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(408, `the request body did not arrive within ${BODY_TIMEOUT_MS / 1000} s`);
  } finally {
    clearTimeout(timer);
  }
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (raw || encoding === 'identity') return body;
  if (encoding !== 'gzip') throw new HttpError(415, `content-encoding ${encoding} is not supported (send identity or gzip)`);
  try {
    return await inflate(body, { maxOutputLength: limit });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, `body too large: the limit is ${limit} bytes after gzip decoding`);
    throw new HttpError(400, 'body is not valid gzip');
  }
}

export function ingestRoute(ctx: AppContext, limit: InFlightLimit, endpoint: IngestEndpoint): Route {
  const settings = ctx.config.settings.ingest;
  const retryAfter = String(settings.retryAfterSeconds);
  return {
    method: 'POST',
    path: endpoint.path,
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      const started = performance.now();
      let reply: IngestReply;
      let release: (() => void) | null = null;
      try {
        endpoint.authenticate(req);
        release = limit.tryAcquire();
        if (!release) throw new HttpError(503, `ingest is busy (${limit.max} requests in flight); retry after ${retryAfter} s`, { 'retry-after': retryAfter });
        const body = await bodyOf(req, settings.maxBodyBytes, endpoint.rawBody === true);
        // Past the statement timeout (and a margin for the commit), the sender gets its 503 even from a Postgres that stopped answering.
        reply = await withDeadline(settings.statementTimeoutMs + 2_000, () => endpoint.handle(body, req));
      } catch (error) {
        if (error instanceof HttpError) {
          reply = { status: error.status, body: { error: error.message } };
          for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
        } else if (isOverload(error)) {
          // Rolled back (or, if the connection died during COMMIT, unconfirmed): a resend is harmless either way.
          reply = {
            status: 503,
            body: { error: `the database could not take this batch now; it was not stored, send it again after ${retryAfter} s` },
            log: { cause: String((error as { code?: string }).code ?? 'timeout') },
          };
          res.setHeader('retry-after', retryAfter);
        } else {
          // The code and message only: Postgres keeps row values in `detail`, which is never logged.
          ctx.logger.error({ endpoint: endpoint.name, code: (error as { code?: string })?.code, err: (error as Error)?.message }, 'ingest request failed');
          reply = { status: 500, body: { error: 'internal_error: the batch was not stored; sending it again is safe' } };
        }
      } finally {
        release?.();
      }
      const seconds = (performance.now() - started) / 1000;
      metrics.ingestRequests.inc({ endpoint: endpoint.name, status: reply.status });
      metrics.ingestSeconds.observe({ endpoint: endpoint.name }, seconds);
      const level = reply.status >= 500 ? 'warn' : 'debug';
      ctx.logger[level]({ endpoint: endpoint.name, status: reply.status, ms: Math.round(seconds * 1000), ...reply.log }, 'ingest request');
      if (reply.status === 401) res.setHeader('www-authenticate', endpoint.name === 'segment' ? 'Basic realm="segment"' : 'Bearer');
      sendJson(res, reply.status, reply.body);
    },
  };
}
