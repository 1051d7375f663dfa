import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPacer } from '../../src/alerts/pacing.js';
import { cleanQueuePrefix, queuePrefix, REDIS_URL } from '../helpers/db.js';

let redis: Redis;
let prefix: string;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  prefix = queuePrefix('pacing');
});
afterAll(async () => {
  redis.disconnect();
  await cleanQueuePrefix(prefix);
});

describe('pacing in Redis (shared by every worker)', () => {
  it('reserves one slot per second per channel, channels independent', async () => {
    const pacer = createPacer(redis, `${prefix}a`, { perChannelMs: 1000, globalPerSecond: 1000, marginMs: 0 });
    const now = 1_000_000;
    const slots = await pacer.reserve(['C1', 'C1', 'C2', 'C1', 'C2'], now);
    expect(slots).toEqual([now, now + 1000, now, now + 2000, now + 1000]);
    // later reservations continue after the backlog
    expect(await pacer.reserve(['C1'], now + 10)).toEqual([now + 3000]);
  });

  it('gates a post until a second after the previous one returned', async () => {
    const pacer = createPacer(redis, `${prefix}b`, { perChannelMs: 1000, globalPerSecond: 1000, marginMs: 0 });
    const t = 2_000_000;
    expect(await pacer.gate('C1', false, t)).toEqual({ go: true });
    await pacer.posted('C1', t + 300); // slow answer
    expect(await pacer.gate('C1', false, t + 1000)).toEqual({ go: false, until: t + 1300, globalSlot: false });
    expect(await pacer.gate('C1', false, t + 1300)).toEqual({ go: true });
    expect(await pacer.gate('C2', false, t + 1301)).toEqual({ go: true });
  });

  it('holds back a channel after a 429 until Retry-After', async () => {
    const pacer = createPacer(redis, `${prefix}c`, { perChannelMs: 1000, globalPerSecond: 1000, marginMs: 0 });
    const t = 3_000_000;
    await pacer.block('C1', t + 5000);
    expect(await pacer.gate('C1', false, t + 100)).toMatchObject({ go: false, until: t + 5000 });
    expect(await pacer.reserve(['C1'], t)).toEqual([t + 5000]);
  });

  it('spreads posts across channels to the global cap, never far ahead', async () => {
    const pacer = createPacer(redis, `${prefix}d`, { perChannelMs: 1000, globalPerSecond: 4, marginMs: 0 });
    const t = 4_000_000;
    const verdicts = [];
    for (let i = 0; i < 6; i++) verdicts.push(await pacer.gate(`C${i}`, false, t));
    expect(verdicts[0]).toEqual({ go: true });
    expect(verdicts.slice(1).map((v) => (v.go ? 0 : v.until - t))).toEqual([250, 500, 750, 1000, 1250]);
    expect(verdicts.slice(1).every((v) => !v.go && v.globalSlot)).toBe(true);
    // holding its global slot, a job goes when it wakes
    expect(await pacer.gate('C1', true, t + 250)).toEqual({ go: true });
  });
});
