import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import { z } from 'zod';

/**
 * Pure checks of a request on POST /slack/events, before Bolt sees it:
 * the signature and its time window, and that the body has the shape Slack
 * sends. Bolt's receiver assumes a well-formed body (a signed `null` made it
 * read a property of null outside its own error handling), so anything else
 * is answered here, with a status and a reason.
 */

/** Slack's replay window: a request older — or newer — than this is refused. */
export const SIGNATURE_WINDOW_SECONDS = 5 * 60;

export type Verdict = { ok: true } | { ok: false; status: 401; reason: string };

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Slack's v0 signature over `v0:<timestamp>:<body>`, with the timestamp within the window in both directions. */
export function verifySignature(headers: Record<string, string | string[] | undefined>, body: Buffer, signingSecret: string, nowSeconds: number): Verdict {
  const signature = header(headers, 'x-slack-signature');
  const timestampText = header(headers, 'x-slack-request-timestamp');
  if (!signature || !timestampText) return { ok: false, status: 401, reason: 'missing signature headers' };
  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, status: 401, reason: 'malformed request timestamp' };
  const timestamp = Number(timestampText);
  if (Math.abs(nowSeconds - timestamp) > SIGNATURE_WINDOW_SECONDS) return { ok: false, status: 401, reason: 'request timestamp outside the 5-minute window' };
  const m = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!m) return { ok: false, status: 401, reason: 'malformed signature' };
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestampText}:`).update(body).digest();
  const given = Buffer.from(m[1]!, 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, status: 401, reason: 'signature mismatch' };
  return { ok: true };
}

// ───────────────────────── body shapes ─────────────────────────

const user = z.object({ id: z.string().min(1) }).loose();
const viewState = z.object({ values: z.record(z.string(), z.record(z.string(), z.unknown())) }).loose();

/** The fields Bolt and retain's listeners read, per kind of request. Extra fields are Slack's business. */
const slashCommand = z
  .object({
    command: z.string().regex(/^\/\S+$/),
    user_id: z.string().min(1),
    channel_id: z.string().optional(),
    text: z.string().optional(),
    response_url: z.string().optional(),
    trigger_id: z.string().optional(),
    team_id: z.string().optional(),
  })
  .loose();

const interactive = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('block_actions'),
      user,
      actions: z.array(z.object({ action_id: z.string().min(1) }).loose()).min(1),
      container: z.object({}).loose().optional(),
      channel: z.object({ id: z.string() }).loose().optional(),
      message: z.object({ ts: z.string() }).loose().optional(),
    })
    .loose(),
  z.object({ type: z.literal('block_suggestion'), user, action_id: z.string().min(1), value: z.string().optional() }).loose(),
  z.object({ type: z.literal('view_submission'), user, view: z.object({ id: z.string(), callback_id: z.string(), state: viewState }).loose() }).loose(),
  z.object({ type: z.literal('view_closed'), user, view: z.object({ id: z.string(), callback_id: z.string() }).loose() }).loose(),
  z.object({ type: z.literal('shortcut'), user, callback_id: z.string().min(1) }).loose(),
  z
    .object({
      type: z.literal('message_action'),
      user,
      callback_id: z.string().min(1),
      trigger_id: z.string(),
      channel: z.object({ id: z.string() }).loose(),
      message: z.object({ ts: z.string() }).loose(),
    })
    .loose(),
]);

const eventsApi = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string() }).loose(),
  z.object({ type: z.literal('event_callback'), event: z.object({ type: z.string().min(1) }).loose() }).loose(),
  z.object({ type: z.literal('app_rate_limited') }).loose(),
]);

/**
 * How Bolt will route a body: by which keys are present, in this order
 * (`event`, then `command`, then `name` or a block_suggestion, then
 * `actions`…). A body that passed our shape check for one kind but carries
 * another kind's key (an interaction with `"event": null`) would be routed as
 * the other and crash inside Bolt, so such a body is refused here.
 */
export type BoltRoute = 'event' | 'command' | 'options' | 'action' | 'shortcut' | 'view' | 'other';
export function boltRoute(body: Record<string, unknown>): BoltRoute {
  if (body.event !== undefined) return 'event';
  if (body.command !== undefined) return 'command';
  if (body.name !== undefined || body.type === 'block_suggestion') return 'options';
  if (body.actions !== undefined || body.type === 'dialog_submission') return 'action';
  if (body.type === 'shortcut' || body.type === 'message_action') return 'shortcut';
  if (body.type === 'view_submission' || body.type === 'view_closed') return 'view';
  return 'other';
}

const INTERACTION_ROUTES: Record<string, BoltRoute> = {
  block_actions: 'action',
  block_suggestion: 'options',
  view_submission: 'view',
  view_closed: 'view',
  shortcut: 'shortcut',
  message_action: 'shortcut',
};

export type ParsedRequest =
  | { ok: true; kind: 'ssl_check' }
  | { ok: true; kind: 'slack'; body: Record<string, unknown> }
  | { ok: false; status: 400; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const bad = (reason: string): ParsedRequest => ({ ok: false, status: 400, reason });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The body as Bolt will read it — the same content-type rule (exactly
 * `application/x-www-form-urlencoded` is a form, anything else JSON) — and
 * only when it is one of the requests Slack sends: a slash command, an
 * interactive payload, or an Events API callback.
 */
export function parseSlackBody(contentType: string | undefined, raw: Buffer): ParsedRequest {
  const text = raw.toString('utf8');
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = parseQuery(text);
    if (form.ssl_check === '1') return { ok: true, kind: 'ssl_check' };
    if ('payload' in form) {
      if (typeof form.payload !== 'string') return bad('payload must appear once');
      const payload = parseJson(form.payload);
      if (!isObject(payload)) return bad('payload is not a JSON object');
      const ok = interactive.safeParse(payload).success && boltRoute(payload) === INTERACTION_ROUTES[payload.type as string];
      return ok ? { ok: true, kind: 'slack', body: payload } : bad('payload is not an interaction Slack sends');
    }
    const ok = slashCommand.safeParse(form).success && boltRoute(form as Record<string, unknown>) === 'command';
    return ok ? { ok: true, kind: 'slack', body: form as Record<string, unknown> } : bad('form is not a slash command');
  }
  const json = parseJson(text);
  if (!isObject(json)) return bad('body is not a JSON object');
  // An event callback is routed as an event; url_verification and rate-limit notices carry no routing key.
  const route = boltRoute(json);
  const ok = eventsApi.safeParse(json).success && (json.type === 'event_callback' ? route === 'event' : route === 'other');
  return ok ? { ok: true, kind: 'slack', body: json } : bad('body is not an event Slack sends');
}

// ───────────────────────── NUL characters ─────────────────────────

/**
 * U+0000 removed from every string (keys too), in place. Postgres text
 * cannot hold it, so a NUL typed into a command or a modal would fail the
 * write; without it the person gets the answer their text deserves.
 */
export function stripNul<T>(value: T): T {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = stripNul(value[i]);
    return value;
  }
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '') : value) as T;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      const clean = stripNul(o[key]);
      if (key.includes('\u0000')) {
        delete o[key];
        o[key.replaceAll('\u0000', '')] = clean;
      } else o[key] = clean;
    }
  }
  return value;
}
