import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { start, type Running } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';

let db: TestDb;
let prefix: string;
const config = () => loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });

beforeAll(async () => {
  db = await createTestDb('worker');
  prefix = queuePrefix('worker');
});
afterAll(async () => {
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

describe('worker role', () => {
  it('registers each schedule once, however many times workers start', async () => {
    const a: Running = await start({ roles: ['worker'], config: config(), logger: silentLogger, migrate: false });
    const b: Running = await start({ roles: ['worker'], config: config(), logger: silentLogger, migrate: false });
    try {
      const schedulers = await a.ctx.queues!.queue('scoring').getJobSchedulers(0, -1, true);
      const ids = schedulers.map((s) => s.key).sort();
      expect(ids).toEqual(expect.arrayContaining(['fit-models', 'rescore-full', 'rescore-incremental']));
      expect(new Set(ids).size).toBe(ids.length);
      expect(schedulers.find((s) => s.key === 'rescore-incremental')?.pattern).toBe('0 * * * *');
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  it('runs a rescore job for real through Redis', async () => {
    const running = await start({ roles: ['worker'], config: config(), logger: silentLogger, migrate: false, schedules: false });
    try {
      await running.ctx.queues!.add('rescore', { mode: 'full' });
      let run: unknown;
      for (let i = 0; i < 200 && !run; i++) {
        run = await db.db.selectFrom('scoring_runs').selectAll().where('status', '=', 'done').executeTakeFirst();
        if (!run) await new Promise((r) => setTimeout(r, 50));
      }
      expect(run).toMatchObject({ kind: 'full', status: 'done' });
    } finally {
      await running.stop();
    }
  });

  it('fails a job with a bad payload for good instead of retrying it', async () => {
    const running = await start({ roles: ['worker'], config: config(), logger: silentLogger, migrate: false, schedules: false });
    try {
      const q = running.ctx.queues!.queue('scoring');
      const job = await q.add('rescore', { mode: 'sideways' }, { attempts: 5 });
      let state = '';
      for (let i = 0; i < 200 && state !== 'failed'; i++) {
        state = await job.getState();
        if (state !== 'failed') await new Promise((r) => setTimeout(r, 25));
      }
      const failed = await q.getJob(job.id!);
      expect(state).toBe('failed');
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toContain('bad payload for rescore');
    } finally {
      await running.stop();
    }
  });
});
