import { sql } from 'kysely';
import type { RedisClient } from '../platform/redis.js';
import { ConfigError } from '../config/env.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';

/**
 * Job ids are built from database ids (`deliver-<notification>`,
 * `rb-<run>-<batch>`), and BullMQ ignores a job whose id it already holds. A
 * queue prefix that served another database (a recreated one, a second
 * install) would silently swallow this one's jobs. So each prefix is bound to
 * one database the first time it is used, and start-up refuses a mismatch
 * with a line saying what to do.
 */
export async function databaseIdentity(db: Db): Promise<string> {
  const base = await sql<{ id: string }>`
    SELECT d.oid::text || ':' || d.datname AS id FROM pg_database d WHERE d.datname = current_database()`.execute(db);
  let system = '';
  try {
    const r = await sql<{ s: string }>`SELECT system_identifier::text AS s FROM pg_control_system()`.execute(db);
    system = r.rows[0]?.s ?? '';
  } catch {
    // Not allowed for this role: the database oid and name still tell databases apart on one server.
  }
  return `${system}:${base.rows[0]?.id ?? ''}`;
}

export async function bindQueuePrefix(db: Db, redis: RedisClient, prefix: string, logger: Logger): Promise<void> {
  let identity: string;
  let stored: string | null;
  try {
    if (redis.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('redis not ready')), 3_000);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    identity = await databaseIdentity(db);
    const key = `${prefix}:database`;
    await redis.set(key, identity, 'NX');
    stored = await redis.get(key);
  } catch (error) {
    // A dependency is down: the role still starts (it answers "try again shortly"); the check runs next start.
    logger.warn({ err: (error as Error).message }, 'could not check which database the queue prefix belongs to');
    return;
  }
  if (stored !== identity) {
    throw new ConfigError([
      `invalid environment variable RETAIN_QUEUE_PREFIX: the Redis keys "${prefix}:*" belong to another database; ` +
        `set a different RETAIN_QUEUE_PREFIX for this database, or delete those keys if that database is gone`,
    ]);
  }
}
