import { Redis } from 'ioredis';
import type { AppConfig } from '../config/index.js';
import type { Logger } from '../platform/logger.js';
import { Queues } from './queues.js';

/**
 * Queues for one short errand from a process that has none of its own (a CLI
 * verb): one attempt to reach Redis, a couple of seconds at most, instead of
 * a producer that waits for Redis for ever. Null when Redis cannot be reached.
 */
export async function withDetachedQueues<T>(config: AppConfig, logger: Logger, run: (queues: Queues) => Promise<T>): Promise<{ value: T } | null> {
  const connection = new Redis(config.env.REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  connection.on('error', () => undefined);
  try {
    await connection.connect();
  } catch {
    connection.disconnect();
    return null;
  }
  const queues = new Queues(connection, config.env.RETAIN_QUEUE_PREFIX, logger);
  try {
    return { value: await run(queues) };
  } finally {
    await queues.close().catch(() => undefined);
    connection.disconnect();
  }
}
