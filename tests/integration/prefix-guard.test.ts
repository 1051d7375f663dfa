import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { start } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';

/** A queue prefix serves one database: job ids built from database ids would collide otherwise. */
let first: TestDb;
let second: TestDb;
let prefix: string;

beforeAll(async () => {
  first = await createTestDb('guard_a');
  second = await createTestDb('guard_b');
  prefix = queuePrefix('guard');
});
afterAll(async () => {
  await cleanQueuePrefix(prefix);
  await first?.drop();
  await second?.drop();
});

describe('queue prefix binding', () => {
  it('lets every process of one database share a prefix, and refuses another database with a clear line', async () => {
    const cfg = (db: TestDb) => loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
    const a = await start({ roles: ['worker'], config: cfg(first), logger: silentLogger, migrate: false, schedules: false });
    const b = await start({ roles: ['worker'], config: cfg(first), logger: silentLogger, migrate: false, schedules: false });
    await b.stop();
    await a.stop();
    await expect(start({ roles: ['worker'], config: cfg(second), logger: silentLogger, migrate: false, schedules: false })).rejects.toThrow(
      /RETAIN_QUEUE_PREFIX: the Redis keys ".*" belong to another database/,
    );
  });
});
