import { Cluster, Redis } from 'ioredis';
import type { Env } from '../config/env.js';
import type { Logger } from './logger.js';

/** One Redis, or a Redis Cluster (REDIS_CLUSTER_NODES): every client retain makes is one or the other. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the two variables that say it. */
export type RedisTarget = Pick<Env, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>;

/** What to show of the target in a log line or the demo's banner (never a password). */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.REDIS_CLUSTER_NODES) return `cluster ${target.REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return new URL(target.REDIS_URL).host;
}

interface ClientOptions {
  maxRetriesPerRequest: number | null;
  enableOfflineQueue: boolean;
  connectTimeout: number;
  lazyConnect: boolean;
  retryStrategy: (times: number) => number | null;
}

function clientOf(target: RedisTarget, o: ClientOptions): RedisClient {
  if (!target.REDIS_CLUSTER_NODES) return new Redis(target.REDIS_URL, o);
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...perNode } = o;
  return new Cluster(
    target.REDIS_CLUSTER_NODES.map((n) => ({ host: n.host, port: n.port })),
    // BullMQ reads maxRetriesPerRequest from the per-node options of a Cluster.
    { redisOptions: perNode, enableOfflineQueue, lazyConnect, clusterRetryStrategy: retryStrategy },
  );
}

/**
 * Workers block on Redis and must never give up (maxRetriesPerRequest: null);
 * producers on the request path must fail fast instead of queueing commands
 * while Redis is down.
 */
export function createRedis(target: RedisTarget, role: 'worker' | 'producer', logger: Logger): RedisClient {
  const redis = clientOf(target, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    connectTimeout: 2_000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  redis.on('error', (err: Error & { code?: string }) => logger.warn({ code: err.code, role }, 'redis connection error'));
  // A Cluster reports each node's trouble apart from its own; without a listener these would be unhandled.
  if (redis instanceof Cluster) redis.on('node error', (err: Error & { code?: string }) => logger.debug({ code: err.code, role }, 'redis cluster node error'));
  return redis;
}

/**
 * A client for one short errand (a CLI verb): one attempt to connect, a
 * couple of seconds at most. Null when Redis cannot be reached.
 */
export async function connectOnce(target: RedisTarget): Promise<RedisClient | null> {
  const redis = clientOf(target, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  if (redis instanceof Cluster) redis.on('node error', () => undefined);
  try {
    await redis.connect();
    // A Cluster connects once it knows the slots; a single Redis once its socket is up.
    await redis.ping();
    return redis;
  } catch {
    redis.disconnect();
    return null;
  }
}

/** The masters that hold the data: every node of a Cluster that owns slots, or the one Redis. */
export function mastersOf(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * The master that holds `key` (on a Cluster, the owner of its slot as the
 * client last learnt it); the one Redis otherwise.
 */
export async function masterFor(redis: RedisClient, key: string): Promise<Redis> {
  if (!(redis instanceof Cluster)) return redis;
  const slot = Number(await redis.cluster('KEYSLOT', key));
  const owner = redis.slots[slot]?.[0];
  const node = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (!node) throw new Error(`no known master for slot ${slot}`);
  return node;
}

/**
 * Deletes every key under a queue prefix (SCAN, not KEYS, so a large Redis is
 * not blocked; on a Cluster, SCAN on every master, each holding its slots'
 * keys): the demo starts from empty queues, and tests clean up theirs.
 */
export async function clearQueuePrefix(target: RedisTarget, prefix: string): Promise<void> {
  const redis = await connectOnce(target);
  if (!redis) throw new Error(`cannot reach Redis (${describeRedisTarget(target)}) to clear the queue prefix ${prefix}`);
  try {
    for (const node of mastersOf(redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        // One key per command: keys of different slots may not share one.
        if (keys.length) await node.pipeline(keys.map((k) => ['unlink', k])).exec();
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
