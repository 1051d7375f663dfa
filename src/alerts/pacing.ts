import type { Redis } from 'ioredis';

/**
 * Per-channel send slots in Redis (STACK.md trap 5: BullMQ's per-group rate
 * limit is a paid feature). One atomic script keeps, per channel, the next
 * free time, and a global next-free time for the workspace-wide cap. A job
 * reserves a slot and is delayed to it; any worker, any process, same answer.
 */
const RESERVE = `
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local globalGap = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local chan = tonumber(redis.call('GET', KEYS[1]) or '0')
local glob = tonumber(redis.call('GET', KEYS[2]) or '0')
local slot = now
if chan > slot then slot = chan end
if glob > slot then slot = glob end
redis.call('SET', KEYS[1], tostring(slot + gap), 'PX', ttl)
redis.call('SET', KEYS[2], tostring(slot + globalGap), 'PX', ttl)
return slot
`;

/** Push a channel's next free time out (after a 429 with Retry-After). */
const BLOCK = `
local until_ = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > cur then redis.call('SET', KEYS[1], tostring(until_), 'PX', tonumber(ARGV[2])) end
return until_
`;

export interface Pacer {
  /** Reserve the next send slot for a channel; returns the epoch ms of the slot. */
  reserve(channel: string, now?: number): Promise<number>;
  /** Nothing goes to this channel before `untilMs`. */
  block(channel: string, untilMs: number): Promise<void>;
}

export function createPacer(redis: Redis, prefix: string, perChannelMs: number, globalPerSecond: number): Pacer {
  const globalGap = Math.max(0, Math.floor(1000 / globalPerSecond));
  const chanKey = (c: string) => `${prefix}:pace:ch:${c}`;
  const globalKey = `${prefix}:pace:global`;
  const ttl = 10 * 60_000;
  return {
    async reserve(channel, now = Date.now()) {
      const slot = await redis.eval(RESERVE, 2, chanKey(channel), globalKey, now, perChannelMs, globalGap, ttl);
      return Number(slot);
    },
    async block(channel, untilMs) {
      await redis.eval(BLOCK, 1, chanKey(channel), untilMs, ttl);
    },
  };
}
