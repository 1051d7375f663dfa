import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * Workers block on Redis and must never give up (maxRetriesPerRequest: null);
 * producers on the request path must fail fast instead of queueing commands
 * while Redis is down (STACK.md trap 9).
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
