import { createHmac } from 'node:crypto';

/** Real Slack request signing (v0), so tests go through Bolt's verification. */
export function sign(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const base = `v0:${timestamp}:${body}`;
  const signature = `v0=${createHmac('sha256', secret).update(base).digest('hex')}`;
  return { 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp) };
}

export interface SlashOptions {
  command: string;
  text: string;
  userId: string;
  channelId?: string;
  responseUrl: string;
  triggerId?: string;
}

export function slashBody(o: SlashOptions): string {
  return new URLSearchParams({
    token: 'legacy',
    team_id: 'T1',
    team_domain: 'test',
    channel_id: o.channelId ?? 'C0TEST',
    channel_name: 'test',
    user_id: o.userId,
    user_name: o.userId.toLowerCase(),
    command: o.command,
    text: o.text,
    api_app_id: 'A1',
    response_url: o.responseUrl,
    trigger_id: o.triggerId ?? '1.2.3',
  }).toString();
}

export function interactiveBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** A block_actions payload for a button click. */
export function buttonClick(o: {
  actionId: string;
  value?: string;
  userId: string;
  responseUrl: string;
  channelId?: string;
  messageTs?: string;
  blockId?: string;
  message?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: 'T1', domain: 'test' },
    user: { id: o.userId, username: o.userId.toLowerCase(), team_id: 'T1' },
    api_app_id: 'A1',
    token: 'legacy',
    trigger_id: '1.2.3',
    response_url: o.responseUrl,
    container: { type: 'message', message_ts: o.messageTs ?? '1.1', channel_id: o.channelId ?? 'C0TEST', is_ephemeral: !o.messageTs },
    channel: { id: o.channelId ?? 'C0TEST', name: 'test' },
    ...(o.messageTs ? { message: o.message ?? { ts: o.messageTs, text: '', blocks: [] } } : {}),
    actions: [
      {
        type: 'button',
        action_id: o.actionId,
        block_id: o.blockId ?? 'b1',
        value: o.value,
        text: { type: 'plain_text', text: 'x' },
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

export async function postSigned(
  url: string,
  secret: string,
  body: string,
  opts: { timestamp?: number; badSignature?: boolean; contentType?: string } = {},
): Promise<{ status: number; text: string }> {
  const headers = sign(secret, body, opts.timestamp);
  if (opts.badSignature) headers['x-slack-signature'] = `v0=${'0'.repeat(64)}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': opts.contentType ?? 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}
