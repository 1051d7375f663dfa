import { randomBytes } from 'node:crypto';
import { createDb, dropDatabase, ensureDatabase, type DbHandle } from '../../src/platform/db.js';
import { silentLogger } from '../../src/platform/logger.js';
import { migrateToLatest } from '../../src/platform/migrate.js';
import { clearQueuePrefix } from '../../src/platform/redis.js';

export const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

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

/** A unique BullMQ prefix per test file, so queues never collide. */
export function queuePrefix(label: string): string {
  return `rt_${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${randomBytes(3).toString('hex')}`;
}

export async function cleanQueuePrefix(prefix: string): Promise<void> {
  await clearQueuePrefix(REDIS_URL, prefix);
}
