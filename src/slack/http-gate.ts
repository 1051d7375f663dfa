import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { HttpError, readBody, sendJson } from '../platform/http.js';
import type { Logger } from '../platform/logger.js';
import type { ReplayGuard } from './replay.js';
import { parseSlackBody, verifySignature } from './request.rules.js';

/** Bolt's own limit; Slack's requests are far smaller. */
export const SLACK_BODY_LIMIT = 4 * 1024 * 1024;

export interface SlackGateOptions {
  signingSecret: string;
  replay: ReplayGuard;
  logger: Logger;
  /** The answer to a request the process would only refuse (a slash command beyond its bound), or null to pass it on. */
  refuse?(body: Record<string, unknown>): object | null;
  /** Bolt's receiver, handed only requests that passed the gate (the body already read). */
  pass(req: IncomingMessage, res: ServerResponse): void;
  nowMs?: () => number;
}

/**
 * POST /slack/events, in front of Bolt: read the body (413 when too large),
 * verify the signature with the timestamp within five minutes either way
 * (401), accept only the shapes Slack sends (400), and answer a replayed
 * request without acting on it again (200, empty). A request the process
 * would only refuse is answered here at once (200, the refusal as the
 * reply), before the replay check and Bolt: it acts on nothing, and in an
 * overload refusing must stay cheap. Every error is caught
 * here: no request can take the process down.
 */
export function slackGate(o: SlackGateOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const now = o.nowMs ?? Date.now;
  const refuse = (res: ServerResponse, status: number, reason: string) => {
    o.logger.warn({ status, reason }, 'slack request refused');
    sendJson(res, status, { error: reason });
  };
  return async (req, res) => {
    try {
      let raw: Buffer;
      try {
        raw = await readBody(req, SLACK_BODY_LIMIT);
      } catch (error) {
        if (error instanceof HttpError) return refuse(res, error.status, error.message);
        return refuse(res, 400, 'could not read the request body');
      }
      const contentType = req.headers['content-type'];
      // Slack's SSL check carries no signature (and nothing else is read from it).
      if (contentType === 'application/x-www-form-urlencoded' && parseQuery(raw.toString('utf8')).ssl_check === '1') {
        res.writeHead(200);
        res.end();
        return;
      }
      const signed = verifySignature(req.headers, raw, o.signingSecret, Math.floor(now() / 1000));
      if (!signed.ok) return refuse(res, signed.status, signed.reason);
      const parsed = parseSlackBody(contentType, raw);
      if (!parsed.ok) return refuse(res, parsed.status, parsed.reason);
      const refusal = parsed.kind === 'slack' ? o.refuse?.(parsed.body) : null;
      if (refusal) return sendJson(res, 200, refusal);
      const signature = String(req.headers['x-slack-signature']);
      if (!(await o.replay.firstSight(signature))) {
        o.logger.warn('replayed slack request answered without acting on it');
        res.writeHead(200);
        res.end();
        return;
      }
      // Bolt reads a body that is already buffered instead of the stream.
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
      o.pass(req, res);
    } catch (error) {
      o.logger.error({ err: (error as Error)?.message }, 'slack request failed before reaching a listener');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error' });
    }
  };
}
