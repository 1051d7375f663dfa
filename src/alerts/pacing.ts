import type { Redis } from 'ioredis';

/**
 * Slack allows about one message per second per channel (STACK.md trap 5), and
 * BullMQ's per-group rate limit is a paid feature, so pacing lives in Redis,
 * shared by every worker process, in two atomic scripts:
 *
 * - `reserve` (at enqueue time) hands each message a send slot on its channel,
 *   `spacing` apart, so a burst for one channel is spread out in the delayed
 *   set instead of every job waking at once. The global cap is deliberately
 *   not part of this: a channel with a long backlog reserves slots far in the
 *   future, and that must not hold back every other channel.
 * - `gate` (just before posting) is the guarantee: it lets a post through only
 *   when the channel's last post returned at least `spacing` ago, and takes a
 *   workspace-wide slot (`1000 / globalPerSecond` apart, never far ahead of
 *   now). A job that is early, or late and overtaken, waits again.
 * - `posted` (after the post returns) moves the channel's last post to the
 *   answer's time, so slowness on the wire never brings two posts closer.
 */
const RESERVE = `
local now = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local out = {}
for i = 1, #KEYS do
  local nextFree = tonumber(redis.call('GET', KEYS[i]) or '0')
  local slot = now
  if nextFree > slot then slot = nextFree end
  redis.call('SET', KEYS[i], tostring(slot + spacing), 'PX', ttl)
  out[i] = slot
end
return out
`;

/**
 * KEYS: channel last-post, channel next-free (reservations), global next-free.
 * ARGV: now, spacing, globalGap, ttl, holdsGlobal (1 when the job already has a global slot).
 * Returns {0, 0} = go; {1, t} = channel busy until t; {2, t} = global slot t reserved, wait for it.
 */
const GATE = `
local now = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local globalGap = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local holdsGlobal = ARGV[5] == '1'
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if last >= 0 and now - last < spacing then
  return {1, last + spacing}
end
if not holdsGlobal and globalGap > 0 then
  local g = tonumber(redis.call('GET', KEYS[3]) or '0')
  local slot = now
  if g > slot then slot = g end
  redis.call('SET', KEYS[3], tostring(slot + globalGap), 'PX', ttl)
  if slot > now then return {2, slot} end
end
redis.call('SET', KEYS[1], tostring(now), 'PX', ttl)
local nextFree = tonumber(redis.call('GET', KEYS[2]) or '0')
if nextFree < now + spacing then redis.call('SET', KEYS[2], tostring(now + spacing), 'PX', ttl) end
return {0, 0}
`;

/**
 * After the post returned: the channel's last post is when Slack answered,
 * which is after Slack counted it — so the next post, gated ≥ spacing after
 * this, reaches Slack ≥ spacing after this one, however slow the wire was.
 */
const POSTED = `
local at = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if at > last then redis.call('SET', KEYS[1], tostring(at), 'PX', ttl) end
local nextFree = tonumber(redis.call('GET', KEYS[2]) or '0')
if at + spacing > nextFree then redis.call('SET', KEYS[2], tostring(at + spacing), 'PX', ttl) end
return at
`;

/** After a 429: nothing goes to the channel before `until`. */
const BLOCK = `
local untilMs = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if untilMs - spacing > last then redis.call('SET', KEYS[1], tostring(untilMs - spacing), 'PX', ttl) end
local nextFree = tonumber(redis.call('GET', KEYS[2]) or '0')
if untilMs > nextFree then redis.call('SET', KEYS[2], tostring(untilMs), 'PX', ttl) end
return untilMs
`;

/**
 * A delivery job wakes this long before its slot and claims its row
 * meanwhile, so at the slot only the gate and the post remain: whatever runs
 * between the gate and Slack's answer delays the channel's next post.
 */
export const DELIVERY_LEAD_MS = 100;

export type GateVerdict = { go: true } | { go: false; until: number; globalSlot: boolean };

export interface Pacer {
  /** Minimum gap between two posts to one channel (perChannelMs + a safety margin). */
  readonly spacingMs: number;
  /** Reserve the next send slot of each channel (in order); epoch ms per entry. */
  reserve(channels: string[], now?: number): Promise<number[]>;
  /** May a message go to this channel now? Records the post when it may. */
  gate(channel: string, holdsGlobalSlot: boolean, now?: number): Promise<GateVerdict>;
  /** The post to this channel returned at `at` (success or not): the next one waits ≥ spacing from then. */
  posted(channel: string, at?: number): Promise<void>;
  /** Nothing goes to this channel before `untilMs` (a 429's Retry-After). */
  block(channel: string, untilMs: number): Promise<void>;
}

export interface PacingSettings {
  perChannelMs: number;
  globalPerSecond: number;
  /** Added to perChannelMs (clock skew between worker hosts). */
  marginMs?: number;
}

type PacingRedis = Redis & {
  retainPaceReserve(...args: (string | number)[]): Promise<number[]>;
  retainPaceGate(...args: (string | number)[]): Promise<[number, number]>;
  retainPacePosted(...args: (string | number)[]): Promise<number>;
  retainPaceBlock(...args: (string | number)[]): Promise<number>;
};

/** Scripts as ioredis commands: sent by SHA (EVALSHA), not re-sent as text on every call. */
function withPacingCommands(redis: Redis): PacingRedis {
  const r = redis as PacingRedis;
  if (typeof r.retainPaceGate !== 'function') {
    redis.defineCommand('retainPaceReserve', { lua: RESERVE });
    redis.defineCommand('retainPaceGate', { numberOfKeys: 3, lua: GATE });
    redis.defineCommand('retainPacePosted', { numberOfKeys: 2, lua: POSTED });
    redis.defineCommand('retainPaceBlock', { numberOfKeys: 2, lua: BLOCK });
  }
  return r;
}

export function createPacer(connection: Redis, prefix: string, settings: PacingSettings): Pacer {
  const redis = withPacingCommands(connection);
  const spacing = settings.perChannelMs > 0 ? settings.perChannelMs + (settings.marginMs ?? 10) : 0;
  const globalGap = settings.globalPerSecond > 0 ? 1000 / settings.globalPerSecond : 0;
  const lastKey = (c: string) => `${prefix}:pace:last:${c}`;
  const nextKey = (c: string) => `${prefix}:pace:next:${c}`;
  const globalKey = `${prefix}:pace:global`;
  // Long enough to outlive any backlog a channel can build up.
  const ttl = 6 * 3600_000;
  return {
    spacingMs: spacing,
    async reserve(channels, now = Date.now()) {
      if (channels.length === 0) return [];
      if (spacing === 0) return channels.map(() => now);
      const out: number[] = [];
      // One round trip per chunk; a chunk runs atomically.
      for (let i = 0; i < channels.length; i += 500) {
        const chunk = channels.slice(i, i + 500);
        const slots = await redis.retainPaceReserve(chunk.length, ...chunk.map(nextKey), now, spacing, ttl);
        out.push(...slots.map(Number));
      }
      return out;
    },
    async gate(channel, holdsGlobalSlot, now = Date.now()) {
      const [code, until] = await redis.retainPaceGate(
        lastKey(channel),
        nextKey(channel),
        globalKey,
        now,
        spacing,
        globalGap,
        ttl,
        holdsGlobalSlot ? '1' : '0',
      );
      if (Number(code) === 0) return { go: true };
      return { go: false, until: Number(until), globalSlot: Number(code) === 2 };
    },
    async posted(channel, at = Date.now()) {
      if (spacing === 0) return;
      await redis.retainPacePosted(lastKey(channel), nextKey(channel), at, spacing, ttl);
    },
    async block(channel, untilMs) {
      await redis.retainPaceBlock(lastKey(channel), nextKey(channel), untilMs, spacing, ttl);
    },
  };
}
