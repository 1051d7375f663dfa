import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPacer } from '../../src/alerts/pacing.js';
import type { RedisClient } from '../../src/platform/redis.js';
import { cleanQueuePrefix, queuePrefix, testRedis } from '../helpers/db.js';

let redis: RedisClient;
let prefix: string;

beforeAll(() => {
  redis = testRedis();
  prefix = queuePrefix('pacing');
});
afterAll(async () => {
  redis.disconnect();
  await cleanQueuePrefix(prefix);
});

const pacerFor = (name: string, globalPerSecond = 1000) => createPacer(redis, `${prefix}${name}`, { perChannelMs: 1000, globalPerSecond, marginMs: 0 });

describe('pacing in Redis (shared by every worker)', () => {
  it('gates a post until a second after the previous one returned', async () => {
    const pacer = pacerFor('b');
    const t = 2_000_000;
    expect(await pacer.gate('C1', { holder: 'job-a', at: t })).toEqual({ go: true });
    await pacer.posted('C1', 'job-a', t + 300); // slow answer
    expect(await pacer.gate('C1', { holder: 'job-b', at: t + 1000 })).toEqual({ go: false, until: t + 1300, globalSlot: false });
    expect(await pacer.gate('C1', { holder: 'job-b', at: t + 1300 })).toEqual({ go: true });
    expect(await pacer.gate('C2', { holder: 'job-b', at: t + 1301 })).toEqual({ go: true });
  });

  it('a drain passes its previous answer along with its next gate', async () => {
    const pacer = pacerFor('e');
    const t = 5_000_000;
    expect(await pacer.gate('C1', { holder: 'job-a', at: t })).toEqual({ go: true });
    // the post returned at t+400: gating for t+1000 must wait until t+1400
    expect(await pacer.gate('C1', { holder: 'job-a', at: t + 1000, previousAnswerAt: t + 400 })).toEqual({ go: false, until: t + 1400, globalSlot: false });
    expect(await pacer.gate('C1', { holder: 'job-a', at: t + 1400 })).toEqual({ go: true });
  });

  it('while one delivery holds a channel (a post in flight), another waits for it to let go', async () => {
    const pacer = pacerFor('h');
    const t = 7_000_000;
    expect(await pacer.gate('C1', { holder: 'job-a', at: t })).toEqual({ go: true });
    // job-a's post has not been answered: job-b may not go, however late
    expect(await pacer.gate('C1', { holder: 'job-b', at: t + 5000 })).toEqual({ go: false, until: t + 5100, globalSlot: false, held: true });
    await pacer.posted('C1', 'job-a', t + 5100);
    expect(await pacer.gate('C1', { holder: 'job-b', at: t + 5500 })).toEqual({ go: false, until: t + 6100, globalSlot: false });
    expect(await pacer.gate('C1', { holder: 'job-b', at: t + 6100 })).toEqual({ go: true });
  });

  it('holds back a channel after a 429 until Retry-After', async () => {
    const pacer = pacerFor('c');
    const t = 3_000_000;
    expect(await pacer.gate('C1', { holder: 'job-a', at: t })).toEqual({ go: true });
    await pacer.block('C1', 'job-a', t + 5000);
    expect(await pacer.gate('C1', { holder: 'job-b', at: t + 100 })).toMatchObject({ go: false, until: t + 5000 });
    expect(await pacer.gate('C1', { holder: 'job-b', at: t + 5000 })).toEqual({ go: true });
  });

  it('lets at most the global cap through per second, across channels', async () => {
    const pacer = pacerFor('d', 4);
    const t = 4_000_000;
    const verdicts = [];
    for (let i = 0; i < 10; i++) verdicts.push(await pacer.gate(`C${i}`, { holder: `job-${i}`, at: t + i }));
    expect(verdicts.slice(0, 4)).toEqual([{ go: true }, { go: true }, { go: true }, { go: true }]);
    // the next four get places in the next second, the last two in the one after
    expect(verdicts.slice(4).map((v) => (v.go ? 0 : v.until - t))).toEqual([1000, 1000, 1000, 1000, 2000, 2000]);
    expect(verdicts.slice(4).every((v) => !v.go && v.globalSlot)).toBe(true);
    // holding its global place, a delivery goes when it wakes
    expect(await pacer.gate('C4', { holder: 'job-4', holdsGlobal: true, at: t + 1000 })).toEqual({ go: true });
  });

  it('a global place given back goes to the next asker; asking again and again takes no more places', async () => {
    const pacer = pacerFor('g', 2);
    const t = 7_000_000;
    expect(await pacer.gate('C1', { holder: 'job-1', at: t })).toEqual({ go: true });
    expect(await pacer.gate('C2', { holder: 'job-2', at: t })).toEqual({ go: true });
    // a third asker is given a place in the next second, does not wait for it, and gives it back — many times over
    for (let i = 0; i < 20; i++) {
      const v = await pacer.gate('C3', { holder: 'job-3', at: t + 1 });
      expect(v).toEqual({ go: false, until: t + 1000, globalSlot: true });
      if (!v.go) await pacer.releaseGlobal(v.until);
    }
    // the next second still has both of its places
    expect(await pacer.gate('C4', { holder: 'job-4', at: t + 1000 })).toEqual({ go: true });
    expect(await pacer.gate('C5', { holder: 'job-5', at: t + 1001 })).toEqual({ go: true });
    expect(await pacer.gate('C6', { holder: 'job-6', at: t + 1002 })).toMatchObject({ go: false, until: t + 2000, globalSlot: true });
  });

  it('a place taken ahead of time does not hold back posts now', async () => {
    const pacer = pacerFor('f', 2);
    const t = 6_000_000;
    // a drain gates for the moment its channel frees up, a second from now
    expect(await pacer.gate('C1', { holder: 'job-1', at: t + 1000 })).toEqual({ go: true });
    // other channels still get this second's places
    expect(await pacer.gate('C2', { holder: 'job-2', at: t })).toEqual({ go: true });
    expect(await pacer.gate('C3', { holder: 'job-3', at: t + 1 })).toEqual({ go: true });
    expect(await pacer.gate('C4', { holder: 'job-4', at: t + 2 })).toEqual({ go: false, until: t + 1000, globalSlot: true });
  });
});
