import type { RedisClient } from '../platform/redis.js';

/**
 * Slack allows about one message per second per channel, and
 * BullMQ's per-group rate limit is a paid feature, so pacing lives in Redis,
 * shared by every worker process, in atomic scripts. Each post is made by a
 * *holder* (one execution of the delivery draining the channel — two
 * executions of one job are two holders):
 *
 * - `gate` (just before posting) lets a post through only when the channel's
 *   last post returned at least `spacing` ago and no other holder's post to
 *   it is in flight, and takes one of the workspace-wide `globalPerSecond`
 *   places in its second. On "go" the caller holds the channel until it
 *   reports the answer. A drain passes the answer time of its own previous
 *   post along with its next gate, so recording that answer costs no round
 *   trip of its own.
 * - `posted` (after a drain's last post) records when Slack answered and lets
 *   go of the channel, so slowness on the wire never brings two posts closer.
 * - `block` (after a 429) holds the channel back until Retry-After.
 *
 * A holder that dies mid-post lets go after HOLD_MS.
 */

/**
 * How long a holder keeps the channel without reporting (a crashed worker's
 * post): longer than a post may take (the client gives up at 10 s), short
 * enough that the next execution after a crash is not held up long.
 */
const HOLD_MS = 15_000;

/**
 * KEYS: channel last-post, channel holder, global bucket prefix.
 * ARGV: at, spacing, perSecond (global cap, 0 = none), ttl, holdsGlobal (1 when the caller already has a global place),
 *       previous answer (epoch ms of the caller's own previous post to this channel, or 0), holder, holdMs.
 * Returns {0, 0} = go; {1, t} = channel busy until t; {2, t} = global place taken in the second starting at t, wait for it;
 * {3, t} = another delivery holds the channel, ask again at t (and not before: holding changes in real time).
 *
 * The global cap counts posts per wall-clock second: a delivery that gates
 * ahead (for the moment its channel frees up) takes a place in that second
 * without holding back anyone posting now. Bucket keys are derived in the
 * script from KEYS[3]: on a Redis Cluster they are in its slot only because
 * the prefix carries a hash tag (`{retain}`), which the config makes sure of.
 */
const GATE = `
local now = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local perSecond = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local holdsGlobal = ARGV[5] == '1'
local prev = tonumber(ARGV[6])
local holder = ARGV[7]
local holdMs = tonumber(ARGV[8])
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if prev > last then
  last = prev
  redis.call('SET', KEYS[1], string.format('%d', prev), 'PX', ttl)
end
local current = redis.call('GET', KEYS[2])
if current and current ~= holder then
  -- Another delivery's post is in flight (or it is between its posts): the
  -- earliest next post is a spacing after that post; ask again then (or
  -- shortly, if that post is taking long). This is real time, not "as of".
  return {3, math.max(last + spacing, now + 100)}
end
if last >= 0 and now - last < spacing then
  return {1, last + spacing}
end
if not holdsGlobal and perSecond > 0 then
  local second = math.floor(now / 1000)
  local taken = -1
  for k = 0, 600 do
    local key = KEYS[3] .. ':' .. string.format('%d', second + k)
    -- Look before taking: a full second is never counted past the cap, so a
    -- place given back (RELEASE) is a place someone else can have.
    local n = tonumber(redis.call('GET', key) or '0')
    if n < perSecond then
      redis.call('INCR', key)
      if n == 0 then redis.call('PEXPIRE', key, 7200000) end
      taken = k
      break
    end
  end
  if taken == -1 then return {2, (second + 600) * 1000} end
  if taken > 0 then return {2, (second + taken) * 1000} end
end
redis.call('SET', KEYS[1], string.format('%d', now), 'PX', ttl)
if holdMs > 0 then redis.call('SET', KEYS[2], holder, 'PX', holdMs) end
return {0, 0}
`;

/**
 * After the post returned: the channel's last post is when Slack answered,
 * which is after Slack counted it — so the next post, gated ≥ spacing after
 * this, reaches Slack ≥ spacing after this one, however slow the wire was.
 * KEYS: last, holder. ARGV: at, ttl, holder.
 */
const POSTED = `
local at = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if at > last then redis.call('SET', KEYS[1], string.format('%d', at), 'PX', ttl) end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return at
`;

/** After a 429: nothing goes to the channel before `until`. KEYS: last, holder. ARGV: until, spacing, ttl, holder. */
const BLOCK = `
local untilMs = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if untilMs - spacing > last then redis.call('SET', KEYS[1], string.format('%d', untilMs - spacing), 'PX', ttl) end
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return untilMs
`;

/**
 * Give back a global place taken in the second starting at `secondStartMs`
 * that the caller will not use (it waits in the delayed set instead). Without
 * this, every delivery that re-asks later takes a second place, future seconds
 * fill with places nobody uses, and deliveries stall behind them.
 * KEYS: the bucket of that second.
 */
const RELEASE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
`;

export type GateVerdict = { go: true } | { go: false; until: number; globalSlot: boolean; held?: true };

export interface GateRequest {
  /** Who posts (the delivery draining the channel). */
  holder: string;
  /** The caller already took a global place (an earlier verdict). */
  holdsGlobal?: boolean;
  /** Judge as of this moment (epoch ms): a drain gates ahead for when its channel frees up. */
  at?: number;
  /** When the caller's own previous post to this channel returned (epoch ms). */
  previousAnswerAt?: number;
}

export interface Pacer {
  /** Minimum gap between two posts to one channel (perChannelMs + a safety margin). */
  readonly spacingMs: number;
  /** May this holder post to the channel (at `at`)? On go, it holds the channel until it reports. */
  gate(channel: string, req: GateRequest): Promise<GateVerdict>;
  /** The holder's post to this channel returned at `at` (success or not): record it and let go. */
  posted(channel: string, holder: string, at?: number): Promise<void>;
  /** Nothing goes to this channel before `untilMs` (a 429's Retry-After); the holder lets go. */
  block(channel: string, holder: string, untilMs: number): Promise<void>;
  /** Give back the global place a `globalSlot` verdict gave for the second starting at `secondStartMs`. */
  releaseGlobal(secondStartMs: number): Promise<void>;
}

export interface PacingSettings {
  perChannelMs: number;
  globalPerSecond: number;
  /** Added to perChannelMs (clock skew between worker hosts). */
  marginMs?: number;
}

type PacingRedis = RedisClient & {
  retainPaceGate(...args: (string | number)[]): Promise<[number, number]>;
  retainPacePosted(...args: (string | number)[]): Promise<number>;
  retainPaceBlock(...args: (string | number)[]): Promise<number>;
  retainPaceRelease(...args: (string | number)[]): Promise<number>;
};

/** Scripts as ioredis commands: sent by SHA (EVALSHA), not re-sent as text on every call. */
function withPacingCommands(redis: RedisClient): PacingRedis {
  const r = redis as PacingRedis;
  if (typeof r.retainPaceGate !== 'function') {
    redis.defineCommand('retainPaceGate', { numberOfKeys: 3, lua: GATE });
    redis.defineCommand('retainPacePosted', { numberOfKeys: 2, lua: POSTED });
    redis.defineCommand('retainPaceBlock', { numberOfKeys: 2, lua: BLOCK });
    redis.defineCommand('retainPaceRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  return r;
}

export function createPacer(connection: RedisClient, prefix: string, settings: PacingSettings): Pacer {
  const redis = withPacingCommands(connection);
  const spacing = settings.perChannelMs > 0 ? settings.perChannelMs + (settings.marginMs ?? 10) : 0;
  const lastKey = (c: string) => `${prefix}:pace:last:${c}`;
  const holderKey = (c: string) => `${prefix}:pace:holder:${c}`;
  const globalKey = `${prefix}:pace:global`;
  // Far longer than any wait that reads these keys; they expire once a channel is quiet.
  const ttl = 6 * 3600_000;
  return {
    spacingMs: spacing,
    async gate(channel, req) {
      const [code, until] = await redis.retainPaceGate(
        lastKey(channel),
        holderKey(channel),
        globalKey,
        req.at ?? Date.now(),
        spacing,
        settings.globalPerSecond,
        ttl,
        req.holdsGlobal ? '1' : '0',
        req.previousAnswerAt ?? 0,
        req.holder,
        spacing > 0 ? HOLD_MS : 0,
      );
      if (Number(code) === 0) return { go: true };
      if (Number(code) === 3) return { go: false, until: Number(until), globalSlot: false, held: true };
      return { go: false, until: Number(until), globalSlot: Number(code) === 2 };
    },
    async posted(channel, holder, at = Date.now()) {
      await redis.retainPacePosted(lastKey(channel), holderKey(channel), at, ttl, holder);
    },
    async block(channel, holder, untilMs) {
      await redis.retainPaceBlock(lastKey(channel), holderKey(channel), untilMs, spacing, ttl, holder);
    },
    async releaseGlobal(secondStartMs) {
      if (settings.globalPerSecond <= 0) return;
      await redis.retainPaceRelease(`${globalKey}:${Math.floor(secondStartMs / 1000)}`);
    },
  };
}
