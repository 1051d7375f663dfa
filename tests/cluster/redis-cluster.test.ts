import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { withDetachedQueues } from '../../src/jobs/detached.js';
import { createRedisWatch, restoredMarker, type RestoreReason } from '../../src/jobs/redis-watch.js';
import { silentLogger } from '../../src/platform/logger.js';
import { clearQueuePrefix, mastersOf, type RedisClient } from '../../src/platform/redis.js';
import { createReplayGuard } from '../../src/slack/replay.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { cleanQueuePrefix, ON_CLUSTER, queuePrefix, REDIS_ENV, REDIS_TARGET, testRedis } from '../helpers/db.js';

/**
 * What only a Redis Cluster can show: the run's cluster is real, retain's
 * clients are Cluster clients, every key it makes is in one slot, and the
 * code that looks across Redis (SCAN, the lost-Redis watch) sees every master.
 */
let redis: RedisClient;
const prefixes: string[] = [];
const prefixFor = (label: string) => {
  const p = queuePrefix(label);
  prefixes.push(p);
  return p;
};

/** Keys under a prefix, per master (each master SCANned on its own). */
async function keysPerMaster(prefix: string): Promise<string[][]> {
  const out: string[][] = [];
  for (const node of mastersOf(redis)) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    out.push(keys);
  }
  return out;
}

beforeAll(async () => {
  redis = testRedis();
  await redis.ping();
});
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await cleanQueuePrefix(p);
});

describe('the Redis Cluster of the run', () => {
  it('is a real cluster of three masters, and the tests of this project use it', async () => {
    expect(ON_CLUSTER).toBe(true);
    expect(redis).toBeInstanceOf(Cluster);
    const masters = mastersOf(redis);
    expect(masters).toHaveLength(3);
    for (const m of masters) expect(String(await m.call('CLUSTER', 'INFO'))).toMatch(/^cluster_state:ok/m);
  });
});

describe('retain on a Redis Cluster', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('cluster_app', { roles: ['web', 'worker'] });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('makes Cluster clients, and keeps every key it makes on one master, in one slot', async () => {
    expect(app.running.ctx.queues!.connection).toBeInstanceOf(Cluster);
    expect(app.prefix).toMatch(/^\{rt_clusterapp_[0-9a-f]+\}$/);
    const perMaster = await keysPerMaster(app.prefix);
    const keys = perMaster.flat();
    // The database binding, the watch's marker and BullMQ's schedulers of every queue.
    expect(keys).toContain(`${app.prefix}:database`);
    expect(keys).toContain(restoredMarker(app.prefix));
    expect(keys.some((k) => k.startsWith(`${app.prefix}:scans:`))).toBe(true);
    expect(perMaster.filter((k) => k.length > 0)).toHaveLength(1);
    const slots = new Set(await Promise.all(keys.map((k) => redis.cluster('KEYSLOT', k))));
    expect(slots.size).toBe(1);
  });

  it('answers /healthz with Redis and its data present', async () => {
    const res = await fetch(`${app.baseUrl}/healthz`);
    const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean }> };
    expect(res.status).toBe(200);
    expect(body.checks.redis!.ok).toBe(true);
    expect(body.checks.redis_data!.ok).toBe(true);
  });
});

describe('code that looks across Redis', () => {
  it('clears a prefix whose keys are spread over every master (SCAN on each)', async () => {
    // No hash tag on purpose: these keys land on all three masters.
    const prefix = `rt_spread_${Math.random().toString(16).slice(2, 8)}`;
    prefixes.push(prefix);
    for (let i = 0; i < 60; i++) await redis.set(`${prefix}:${i}`, '1');
    expect((await keysPerMaster(prefix)).filter((k) => k.length > 0)).toHaveLength(3);
    await clearQueuePrefix(REDIS_TARGET, prefix);
    expect((await keysPerMaster(prefix)).flat()).toEqual([]);
  });

  it('watches the master of the prefix’s slot: no restore while it keeps its data, one when the marker is lost', async () => {
    const prefix = prefixFor('cluster_watch');
    const reasons: RestoreReason[] = [];
    const watch = createRedisWatch({ redis, prefix, logger: silentLogger, intervalMs: 60_000, restore: async (r) => void reasons.push(r) });
    // A new prefix has no marker yet: the first check restores as if Redis had been lost.
    expect(await watch.check({ starting: true })).toBe(true);
    // Checks go to different nodes of the cluster; only the master holding the prefix counts, and it did not restart.
    for (let i = 0; i < 6; i++) expect(await watch.check()).toBe(false);
    await redis.del(restoredMarker(prefix));
    expect(await watch.check()).toBe(true);
    expect(reasons).toEqual(['lost', 'lost']);
    await watch.stop();
  });

  it('remembers a Slack request’s signature across processes', async () => {
    const prefix = prefixFor('cluster_replay');
    const other = testRedis();
    try {
      const here = createReplayGuard(redis, prefix, silentLogger);
      const there = createReplayGuard(other, prefix, silentLogger);
      expect(await here.firstSight('v0=abc')).toBe(true);
      expect(await there.firstSight('v0=abc')).toBe(false);
    } finally {
      other.disconnect();
    }
  });

  it('runs a CLI errand’s queues on the cluster under a prefix given a hash tag, and gives up at once when no node answers', async () => {
    const plain = `rt_plain_${Math.random().toString(16).slice(2, 8)}`;
    const config = loadConfig({ ...REDIS_ENV, RETAIN_QUEUE_PREFIX: plain, LOG_LEVEL: 'silent' });
    expect(config.env.RETAIN_QUEUE_PREFIX).toBe(`{${plain}}`);
    prefixes.push(config.env.RETAIN_QUEUE_PREFIX);
    const got = await withDetachedQueues(config, silentLogger, async (queues) => {
      await queues.add('syncSchedules', {});
      return queues.counts();
    });
    expect(got?.value.scans?.waiting).toBe(1);
    expect((await keysPerMaster(`{${plain}}`)).flat()).toContain(`{${plain}}:scans:wait`);
    const away = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:1', LOG_LEVEL: 'silent' });
    expect(await withDetachedQueues(away, silentLogger, async () => 1)).toBeNull();
  });
});
