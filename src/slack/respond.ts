import type { RespondArguments } from '@slack/bolt';
import type { Reply } from './blocks.js';

/** A Reply as Bolt's respond() arguments: ephemeral unless shared. */
export function toRespond(reply: Reply): RespondArguments {
  return {
    text: reply.text,
    blocks: reply.blocks as never,
    response_type: reply.responseType ?? 'ephemeral',
    ...(reply.replaceOriginal ? { replace_original: true } : {}),
  } as RespondArguments;
}

/** Statuses whose answer has no body (a Response built with one would throw). */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * The fetch Bolt uses. Its respond() hands back fetch's answer unread, and an
 * unread answer keeps its connection until the garbage collector finds it:
 * under load, a new connection per reply and a heap full of open ones. The
 * body is read here and handed back in a fresh Response, so Bolt's Web API
 * client, which reads what it fetches, still can.
 */
export async function readingFetch(url: string | URL, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  const body = NO_BODY.has(res.status) ? null : await res.arrayBuffer();
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
