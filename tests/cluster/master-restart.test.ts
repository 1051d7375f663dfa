import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueNotifications } from '../../src/alerts/outbox.service.js';
import { parseEnv } from '../../src/config/env.js';
import { restoredMarker } from '../../src/jobs/redis-watch.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createRedis, masterFor, type RedisClient } from '../../src/platform/redis.js';
import { until } from '../e2e/alerts.fixtures.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startRedisCluster, type LocalCluster } from '../helpers/redis-cluster.js';

/**
 * "Redis was lost" on a cluster: the master that owns the slot of retain's
 * prefix restarts empty (no persistence, no replica). On a cluster of its own,
 * so the shared one is never restarted under other test files.
 */
describe('the master holding retain’s slot restarts empty', () => {
  let cluster: LocalCluster;
  let app: TestApp;
  let client: RedisClient;
  let dir: string;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    dir = mkdtempSync(join(tmpdir(), 'retain-cluster-loss-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ pacing: { perChannelMs: 100 }, recovery: { redisCheckMs: 500 } }));
    app = await startTestApp('clusterloss', {
      roles: ['web', 'worker'],
      env: { REDIS_CLUSTER_NODES: cluster.nodes, RETAIN_CONFIG: join(dir, 'config.json') },
    });
    const { REDIS_URL, REDIS_CLUSTER_NODES } = parseEnv({ REDIS_CLUSTER_NODES: cluster.nodes });
    client = createRedis({ REDIS_URL, REDIS_CLUSTER_NODES }, 'worker', silentLogger);
  });
  afterAll(async () => {
    client?.disconnect();
    await app?.stop();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a worker notices, puts schedules and the database binding back, and deliveries go on', async () => {
    const queues = app.running.ctx.queues!;
    const schedulers = async () =>
      (await Promise.all((['scoring', 'delivery', 'scans'] as const).map((q) => queues.queue(q).getJobSchedulers(0, -1))))
        .flat()
        .map((s) => s.key)
        .sort();
    const before = await schedulers();
    expect(before).toEqual(expect.arrayContaining(['outbox-sweep', 'run-watchdog']));
    const marker = restoredMarker(app.prefix);
    const markedAt = await client.get(marker);
    expect(markedAt).not.toBeNull();

    const master = await masterFor(client, marker);
    await cluster.restartEmpty(Number(master.options.port));

    await until(async () => {
      const now = await client.get(marker).catch(() => null);
      return now !== null && now !== markedAt;
    }, 30_000);
    await until(async () => (await schedulers()).length >= before.length, 20_000);
    expect(await schedulers()).toEqual(before);
    const health = await fetch(`${app.baseUrl}/healthz`);
    expect(health.status).toBe(200);

    const keys = ['after-0', 'after-1', 'after-2'];
    await enqueueNotifications(
      app.running.ctx,
      keys.map((k) => ({ dedupeKey: k, kind: 'test', channel: 'C0CLOSS', text: k })),
    );
    await app.slack.waitFor(
      () => app.slack.posted.filter((p) => String(p.metadata?.event_payload.key ?? '').startsWith('after-')).length >= keys.length,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    const posted = app.slack.posted.map((p) => String(p.metadata?.event_payload.key ?? '')).filter((k) => k.startsWith('after-'));
    expect(posted.sort()).toEqual(keys);
  }, 90_000);
});
