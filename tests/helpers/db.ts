import { randomBytes } from 'node:crypto';
import { parseEnv } from '../../src/config/env.js';
import { createDb, dropDatabase, ensureDatabase, type DbHandle } from '../../src/platform/db.js';
import { silentLogger } from '../../src/platform/logger.js';
import { migrateToLatest } from '../../src/platform/migrate.js';
import { clearQueuePrefix, createRedis, type RedisClient, type RedisTarget } from '../../src/platform/redis.js';

export const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The one place tests learn which Redis to use: the shared one, or — in the
 * vitest project `cluster` — the Redis Cluster started for the run, whose
 * nodes the project's global setup provides.
 */
const CLUSTER_NODES = process.env.RETAIN_TEST_REDIS === 'cluster' ? (await import('vitest')).inject('redisClusterNodes') : undefined;
export const ON_CLUSTER = CLUSTER_NODES !== undefined;
/** Spread into a test's env: REDIS_URL, and REDIS_CLUSTER_NODES on the cluster. */
export const REDIS_ENV: Record<string, string> = CLUSTER_NODES ? { REDIS_URL, REDIS_CLUSTER_NODES: CLUSTER_NODES } : { REDIS_URL };
const { REDIS_CLUSTER_NODES: nodes } = parseEnv(REDIS_ENV);
export const REDIS_TARGET: RedisTarget = nodes ? { REDIS_URL, REDIS_CLUSTER_NODES: nodes } : { REDIS_URL };

/** A client for poking at the test Redis directly (a Cluster client on the cluster). */
export function testRedis(): RedisClient {
  return createRedis(REDIS_TARGET, 'worker', silentLogger);
}

export interface TestDb extends DbHandle {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file; dropped after. */
export async function createTestDb(label: string): Promise<TestDb> {
  const name = `retain_t_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(3).toString('hex')}`;
  const url = `${PG_BASE}/${name}`;
  await ensureDatabase(url);
  const handle = createDb(url, silentLogger, 5);
  await migrateToLatest(handle.db);
  return {
    ...handle,
    url,
    name,
    async drop() {
      await handle.close();
      await dropDatabase(url);
    },
  };
}

/**
 * A unique BullMQ prefix per test file, so queues never collide; on the
 * cluster with the hash tag the config would add, so tests see the keys the app makes.
 */
export function queuePrefix(label: string): string {
  const prefix = `rt_${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(3).toString('hex')}`;
  return ON_CLUSTER ? `{${prefix}}` : prefix;
}

export async function cleanQueuePrefix(prefix: string): Promise<void> {
  await clearQueuePrefix(REDIS_TARGET, prefix);
}
