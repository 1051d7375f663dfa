import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * Workers block on Redis and must never give up (maxRetriesPerRequest: null);
 * producers on the request path must fail fast instead of queueing commands
 * while Redis is down.
 */
export function createRedis(url: string, role: 'worker' | 'producer', logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    connectTimeout: 2_000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  redis.on('error', (err: Error & { code?: string }) => logger.warn({ code: err.code, role }, 'redis connection error'));
  return redis;
}

/**
 * Deletes every key under a queue prefix (SCAN, not KEYS, so a large Redis is
 * not blocked): the demo starts from empty queues, and tests clean up theirs.
 */
export async function clearQueuePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
