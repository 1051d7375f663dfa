import type { z } from 'zod';

/** Where a click came from: the channel message to update in place (never an ephemeral one). */
export interface ClickedMessage {
  channel: string;
  ts: string;
}

interface ClickBody {
  container?: { channel_id?: string; message_ts?: string; is_ephemeral?: boolean };
  channel?: { id?: string };
  message?: { ts?: string; text?: string; blocks?: unknown[] };
}

/** The message a click came from, for chat.update; undefined for ephemeral messages. */
export function clickedMessage(body: unknown): ClickedMessage | undefined {
  const b = body as ClickBody;
  const channel = b.container?.channel_id ?? b.channel?.id;
  const ts = b.container?.message_ts ?? b.message?.ts;
  return channel && ts && !b.container?.is_ephemeral ? { channel, ts } : undefined;
}

/** The clicked message with what it showed (text and blocks), for listeners that rebuild it. */
export function clickedMessageContent(body: unknown): (ClickedMessage & { text: string; blocks: unknown[] }) | undefined {
  const where = clickedMessage(body);
  if (!where) return undefined;
  const m = (body as ClickBody).message;
  return { ...where, text: m?.text ?? '', blocks: m?.blocks ?? [] };
}

/**
 * A modal's private_metadata, checked against the schema its opener wrote;
 * null when it is missing, truncated or not ours (treated as a stale form).
 */
export function parseModalMetadata<S extends z.ZodType>(raw: string | undefined, schema: S): z.output<S> | null {
  let json: unknown;
  try {
    json = JSON.parse(raw || '{}');
  } catch {
    return null;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** The selected option or typed value of one input block in a submitted modal (`state.values[blockId].value`). */
export function modalValue(
  values: Record<string, Record<string, { value?: string | null; selected_option?: { value?: string } | null }>>,
  blockId: string,
): string | undefined {
  const input = values[blockId]?.value;
  return input?.selected_option?.value ?? input?.value ?? undefined;
}
