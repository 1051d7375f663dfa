import { expect } from 'vitest';
import { SIGNING_SECRET, type TestApp } from './app.js';
import { buttonClick, interactiveBody, postSigned, slashBody } from './signed.js';

/**
 * What a person does in Slack, as signed HTTP requests to the app, and what
 * they then see: the ephemeral reply (response_url), posted messages, views.
 */
export interface SeenReply {
  text: string;
  blocks: any[];
  response_type?: string;
  replace_original?: boolean;
}

let seq = 0;
const nextId = (p: string) => `${p}${++seq}_${Math.random().toString(36).slice(2, 8)}`;

/** Send a slash command; return what the app sent to its response_url. */
export async function slash(app: TestApp, command: '/customer' | '/feedback', text: string, userId: string): Promise<SeenReply> {
  const id = nextId('s');
  const started = Date.now();
  const res = await postSigned(app.eventsUrl, SIGNING_SECRET, slashBody({ command, text, userId, responseUrl: `${app.slack.responseBase}/${id}` }));
  expect(res.status).toBe(200);
  // Bolt acks at once; the reply follows on the response_url.
  expect(Date.now() - started).toBeLessThan(3_000);
  await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
  return app.slack.responses.find((r) => r.id === id)!.body as unknown as SeenReply;
}

/** Click a button on a message (channel message when messageTs is given, else an ephemeral one). */
export async function click(
  app: TestApp,
  o: { actionId: string; value: string; userId: string; channelId?: string; messageTs?: string; message?: Record<string, unknown> },
): Promise<SeenReply> {
  const id = nextId('c');
  const res = await postSigned(app.eventsUrl, SIGNING_SECRET, interactiveBody(buttonClick({ ...o, responseUrl: `${app.slack.responseBase}/${id}` })));
  expect(res.status).toBe(200);
  await app.slack.waitFor(() => app.slack.responses.some((r) => r.id === id));
  return app.slack.responses.find((r) => r.id === id)!.body as unknown as SeenReply;
}

/** Any interactive payload (shortcut, view_submission, block_suggestion); returns the HTTP answer. */
export async function interact(app: TestApp, payload: Record<string, unknown>): Promise<{ status: number; json: any }> {
  const res = await postSigned(app.eventsUrl, SIGNING_SECRET, interactiveBody(payload));
  return { status: res.status, json: res.text ? safeJson(res.text) : null };
}

/** A signed Events API callback (JSON body). */
export async function sendEvent(app: TestApp, event: Record<string, unknown>): Promise<{ status: number }> {
  const body = JSON.stringify({
    token: 'legacy',
    team_id: 'T1',
    api_app_id: 'A1',
    type: 'event_callback',
    event_id: nextId('Ev'),
    event_time: Math.floor(Date.now() / 1000),
    event,
  });
  const res = await postSigned(app.eventsUrl, SIGNING_SECRET, body, { contentType: 'application/json' });
  return { status: res.status };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function until<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
