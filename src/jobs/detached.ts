import type { AppConfig } from '../config/index.js';
import type { Logger } from '../platform/logger.js';
import { connectOnce } from '../platform/redis.js';
import { Queues } from './queues.js';

/**
 * Queues for one short errand from a process that has none of its own (a CLI
 * verb): one attempt to reach Redis, a couple of seconds at most, instead of
 * a producer that waits for Redis for ever. Null when Redis cannot be reached.
 */
export async function withDetachedQueues<T>(config: AppConfig, logger: Logger, run: (queues: Queues) => Promise<T>): Promise<{ value: T } | null> {
  const connection = await connectOnce(config.env);
  if (!connection) return null;
  const queues = new Queues(connection, config.env.RETAIN_QUEUE_PREFIX, logger);
  try {
    return { value: await run(queues) };
  } finally {
    await queues.close().catch(() => undefined);
    connection.disconnect();
  }
}
