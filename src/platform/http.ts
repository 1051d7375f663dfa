import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from './logger.js';

/**
 * A tiny router over node:http: the web role serves Slack, health, metrics
 * and the ingest API from one port. Feature modules add routes.
 */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;
export interface Route {
  method: string;
  path: string;
  handler: RouteHandler;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Read the raw body up to `limit` bytes; larger → 413 with the limit in the message. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `body too large: the limit is ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `body too large: the limit is ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createHttpServer(routes: () => Route[], logger: Logger, fallback?: RouteHandler): Server {
  return createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // An absolute-form target Node's parser let through but URL cannot read.
      return sendJson(res, 400, { error: 'bad request target' });
    }
    const route = routes().find((r) => r.method === req.method && r.path === url.pathname);
    const run = async () => {
      if (route) return route.handler(req, res, url);
      if (fallback) return fallback(req, res, url);
      sendJson(res, 404, { error: 'not_found' });
    };
    Promise.resolve()
      .then(run)
      .catch((error: unknown) => {
        if (error instanceof HttpError) return sendJson(res, error.status, { error: error.message }, error.headers);
        logger.error({ path: url.pathname, err: (error as Error)?.message }, 'http handler failed');
        sendJson(res, 500, { error: 'internal_error' });
      });
  });
}

export function listen(server: Server, port: number, host = '0.0.0.0'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}
