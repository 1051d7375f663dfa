import type { WebClient, WebClientOptions } from '@slack/web-api';
import { blocksToText } from './blocks.js';
import { createSlackCall } from './web-post.js';

/**
 * What retain needs from Slack's Web API, behind one interface so console mode
 * prints instead of posting. Jobs own retries and pacing (a client sitting in
 * its own retry loop would hold a delivery job and its channel's pacing slot),
 * so the real client is built with retries off and no rate-limit queueing.
 */
export interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** Slack message metadata; the outbox stamps each post with its de-duplication key. */
  metadata?: { event_type: string; event_payload: Record<string, string | number | boolean> };
}

export interface SlackGateway {
  readonly mode: 'slack' | 'console';
  postMessage(msg: OutgoingMessage): Promise<{ ts: string; channel: string }>;
  updateMessage(msg: OutgoingMessage & { ts: string }): Promise<void>;
  postEphemeral(msg: OutgoingMessage & { user: string }): Promise<void>;
  /** Opens a DM with the user and returns its channel id. */
  openDm(userId: string): Promise<string>;
  /** Opens a modal; resolves to its view id (null in console mode). */
  openView(triggerId: string, view: unknown): Promise<string | null>;
  updateView(viewId: string, view: unknown): Promise<void>;
  publishHome(userId: string, view: unknown): Promise<void>;
  permalink(channel: string, ts: string): Promise<string | null>;
  /**
   * The ts of a message we posted to `channel` since `sinceEpochSec` carrying
   * metadata `event_payload.key === key`; null when there is none. Lets a
   * delivery interrupted mid-post find out whether Slack already has it.
   */
  findPosted(channel: string, sinceEpochSec: number, eventType: string, key: string): Promise<string | null>;
  /** Who the bot token belongs to (auth.test); throws what Slack or the network said. Slack mode only. */
  authTest?(): Promise<{ botId?: string; userId?: string }>;
}

export function webClientOptions(apiUrl: string | undefined): WebClientOptions {
  return {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 10_000,
  };
}

export function createWebGateway(token: string, apiUrl: string | undefined): SlackGateway {
  // The SDK client serves the rarer calls (views, DMs, history) and loads on first use, so
  // processes that never make one (CLI verbs, a worker that only posts) start without it.
  let client: Promise<WebClient> | undefined;
  const sdk = () => (client ??= import('@slack/web-api').then(({ WebClient }) => new WebClient(token, webClientOptions(apiUrl))));
  // Posts are the volume path (every outbox row): a lean JSON call, not the SDK (see web-post.ts).
  const call = createSlackCall(token, apiUrl);
  return {
    mode: 'slack',
    async postMessage(msg) {
      const res = await call('chat.postMessage', {
        channel: msg.channel,
        text: msg.text,
        ...(msg.blocks ? { blocks: msg.blocks } : {}),
        ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}),
        ...(msg.metadata ? { metadata: msg.metadata } : {}),
        unfurl_links: false,
      });
      return { ts: String(res.ts), channel: String(res.channel ?? msg.channel) };
    },
    async updateMessage(msg) {
      await (await sdk()).chat.update({ channel: msg.channel, ts: msg.ts, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks as never } : {}) });
    },
    async postEphemeral(msg) {
      await (await sdk()).chat.postEphemeral({ channel: msg.channel, user: msg.user, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks as never } : {}) });
    },
    async openDm(userId) {
      const res = await (await sdk()).conversations.open({ users: userId });
      const id = res.channel?.id;
      if (!id) throw new Error('conversations.open returned no channel');
      return id;
    },
    async openView(triggerId, view) {
      const opened = await (await sdk()).views.open({ trigger_id: triggerId, view: view as never });
      return opened.view?.id ?? null;
    },
    async updateView(viewId, view) {
      await (await sdk()).views.update({ view_id: viewId, view: view as never });
    },
    async publishHome(userId, view) {
      await (await sdk()).views.publish({ user_id: userId, view: view as never });
    },
    async permalink(channel, ts) {
      const res = await (await sdk()).chat.getPermalink({ channel, message_ts: ts });
      return res.permalink ?? null;
    },
    async authTest() {
      const res = await (await sdk()).auth.test();
      return { ...(res.bot_id ? { botId: res.bot_id } : {}), ...(res.user_id ? { userId: res.user_id } : {}) };
    },
    async findPosted(channel, sinceEpochSec, eventType, key) {
      const res = await (await sdk()).conversations.history({ channel, oldest: String(sinceEpochSec), include_all_metadata: true, limit: 200 });
      for (const m of res.messages ?? []) {
        const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }).metadata;
        if (meta?.event_type === eventType && meta.event_payload?.key === key && m.ts) return m.ts;
      }
      return null;
    },
  };
}

/** Console mode: everything works, and what would be posted is printed as readable text. */
export function createConsoleGateway(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): SlackGateway & { posted: OutgoingMessage[] } {
  let seq = 0;
  const posted: OutgoingMessage[] = [];
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;
  const show = (label: string, msg: OutgoingMessage) => {
    posted.push(msg);
    write(`\n── ${label} ${msg.channel} ──\n${blocksToText(msg)}`);
  };
  return {
    mode: 'console',
    posted,
    async postMessage(msg) {
      show('post to', msg);
      return { ts: nextTs(), channel: msg.channel };
    },
    async updateMessage(msg) {
      show(`update ${msg.ts} in`, msg);
    },
    async postEphemeral(msg) {
      show(`ephemeral for ${msg.user} in`, msg);
    },
    async openDm(userId) {
      return `DM-${userId}`;
    },
    async openView() {
      write('(a modal would open here; modals need Slack)');
      return null;
    },
    async updateView() {
      write('(a modal would change here; modals need Slack)');
    },
    async publishHome(userId) {
      write(`(App Home refreshed for ${userId})`);
    },
    async permalink() {
      return null;
    },
    async findPosted() {
      return null;
    },
  };
}
