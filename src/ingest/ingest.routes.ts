import type { IncomingMessage } from 'node:http';
import type { RouteFactory } from '../feature.js';
import { followUpDataChange, type DataChange } from '../jobs/follow-ups.js';
import type { AppContext } from '../platform/context.js';
import { HttpError, type Route } from '../platform/http.js';
import { checkArray, credentialOf, parseJson, tokenMatches } from './api.rules.js';
import { ingestRoute, InFlightLimit, type IngestEndpoint, type IngestReply } from './api.gate.js';
import { ingestCustomers, ingestEvents } from './api.service.js';
import { messagesOf } from './segment.rules.js';
import { ingestSegment } from './segment.service.js';
import { planStripeEvent, verifyStripeSignature } from './stripe.rules.js';
import { applyStripeEvent } from './stripe.service.js';

/**
 * HTTP ingest: POST /api/v1/customers, /api/v1/events,
 * /api/v1/segment and /api/v1/stripe. Each answers only after
 * its transaction committed; none touches Slack. What was stored is then
 * handed on for a debounced rescore (one Redis call, which never fails the
 * request: with Redis down, a worker finds the change when it can).
 */
function bearerAuth(ctx: AppContext, allowBasic: boolean): (req: IncomingMessage) => void {
  const token = ctx.config.env.API_TOKEN;
  return (req) => {
    if (!token) throw new HttpError(404, 'the ingest API is disabled: set API_TOKEN to enable it');
    const given = credentialOf(req.headers.authorization, allowBasic);
    if (!given)
      throw new HttpError(
        401,
        allowBasic
          ? 'missing credentials: send the write key (API_TOKEN) as the basic-auth user name, or Authorization: Bearer <API_TOKEN>'
          : 'missing credentials: send Authorization: Bearer <API_TOKEN>',
      );
    if (!tokenMatches(given, token)) throw new HttpError(401, 'invalid API token');
  };
}

function jsonOf(body: Buffer): unknown {
  const parsed = parseJson(body.toString('utf8'));
  if (!parsed.ok) throw new HttpError(parsed.status, parsed.message);
  return parsed.value;
}

function itemsOf(body: Buffer, what: string, maxItems: number): unknown[] {
  const checked = checkArray(jsonOf(body), what, maxItems);
  if (!checked.ok) throw new HttpError(checked.status, checked.message);
  return checked.value;
}

function ok(body: { accepted: number; duplicates: number; rejected: unknown[] }): IngestReply {
  return { status: 200, body, log: { accepted: body.accepted, duplicates: body.duplicates, rejected: body.rejected.length } };
}

export const ingestRoutes: RouteFactory = (ctx) => {
  const settings = ctx.config.settings.ingest;
  const limit = new InFlightLimit(settings.maxInFlight);
  const timeouts = { statementTimeoutMs: settings.statementTimeoutMs };
  const apiAuth = bearerAuth(ctx, false);
  const followUp = async <T>(stored: T, changed: (o: T) => boolean, change: DataChange = {}): Promise<T> => {
    if (changed(stored)) await followUpDataChange(ctx, change);
    return stored;
  };
  const anyAccepted = (o: { accepted: number }) => o.accepted > 0;

  const endpoints: IngestEndpoint[] = [
    {
      name: 'customers',
      path: '/api/v1/customers',
      authenticate: apiAuth,
      handle: async (body) =>
        ok(await followUp(await ingestCustomers(ctx.db, itemsOf(body, 'customers', settings.maxItems), timeouts), anyAccepted, { renewals: true })),
    },
    {
      name: 'events',
      path: '/api/v1/events',
      authenticate: apiAuth,
      handle: async (body) => ok(await followUp(await ingestEvents(ctx.db, itemsOf(body, 'events', settings.maxItems), timeouts), anyAccepted)),
    },
    {
      name: 'segment',
      path: '/api/v1/segment',
      authenticate: bearerAuth(ctx, true),
      handle: async (body) => {
        const found = messagesOf(jsonOf(body));
        if (!found.ok) throw new HttpError(400, found.message);
        const checked = checkArray(found.messages, 'messages', settings.maxItems);
        if (!checked.ok) throw new HttpError(checked.status, checked.message);
        // A group call may create a customer or change its renewal date.
        return ok(await followUp(await ingestSegment(ctx.db, checked.value, settings.segment, timeouts), anyAccepted, { renewals: true }));
      },
    },
    {
      name: 'stripe',
      path: '/api/v1/stripe',
      rawBody: true,
      authenticate: (req) => {
        if (!ctx.config.env.STRIPE_WEBHOOK_SECRET) throw new HttpError(404, 'the Stripe webhook is disabled: set STRIPE_WEBHOOK_SECRET to enable it');
        // Unsigned requests are turned away before they can take an ingest slot.
        if (!req.headers['stripe-signature']) throw new HttpError(400, 'Stripe-Signature header is missing');
      },
      handle: async (body, req): Promise<IngestReply> => {
        const header = req.headers['stripe-signature'];
        const verified = verifyStripeSignature(
          Array.isArray(header) ? header[0] : header,
          body,
          ctx.config.env.STRIPE_WEBHOOK_SECRET!,
          Math.floor(ctx.clock.now().getTime() / 1000),
        );
        if (!verified.ok) throw new HttpError(400, verified.reason);
        const plan = planStripeEvent(jsonOf(body), settings.segment.ignoreEmailDomains);
        if (plan.kind === 'invalid') throw new HttpError(400, plan.reason);
        if (plan.kind === 'ignored') return { status: 200, body: { received: true, handled: false }, log: { type: plan.type } };
        // A subscription event may change ARR, the renewal date or the status.
        const outcome = await followUp(await applyStripeEvent(ctx.db, ctx.logger, plan, timeouts), (o) => o.matched && !o.duplicate, { renewals: true });
        return { status: 200, body: outcome, log: { type: plan.type, matched: outcome.matched, duplicate: outcome.duplicate ?? false } };
      },
    },
  ];
  const routes: Route[] = endpoints.map((e) => ingestRoute(ctx, limit, e));
  return routes;
};
