import { randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../platform/redis.js';
import type { Logger } from '../platform/logger.js';
import { DEFAULT_JOB_OPTIONS, JOBS, QUEUES, type JobName, type JobPayload, type QueueName } from './catalog.js';

/** Producer side: one BullMQ Queue per queue name, sharing a connection. */
export class Queues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    readonly connection: RedisClient,
    readonly prefix: string,
    logger: Logger,
  ) {
    for (const name of Object.values(QUEUES)) {
      const q = new Queue(name, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
      q.on('error', (err) => logger.warn({ queue: name, err: err.message }, 'queue error'));
      this.queues.set(name, q);
    }
  }

  queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`unknown queue ${name}`);
    return q;
  }

  async add<N extends JobName>(name: N, payload: JobPayload<N>, opts: JobsOptions = {}): Promise<string | undefined> {
    const def = JOBS[name];
    def.schema.parse(payload);
    const job = await this.queue(def.queue).add(name, payload, withJobId(name, opts));
    return job.id;
  }

  async addBulk<N extends JobName>(name: N, items: { data: JobPayload<N>; opts?: JobsOptions }[]): Promise<void> {
    if (items.length === 0) return;
    const def = JOBS[name];
    for (const item of items) def.schema.parse(item.data);
    await this.queue(def.queue).addBulk(items.map((i) => ({ name, data: i.data, opts: withJobId(name, i.opts ?? {}) })));
  }

  async counts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [name, q] of this.queues) out[name] = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

/** Jobs whose id is kept in Postgres get one no counter reset can repeat (no ':', not all digits). */
function withJobId(name: JobName, opts: JobsOptions): JobsOptions {
  const def = JOBS[name];
  return 'uniqueIds' in def && def.uniqueIds && !opts.jobId ? { ...opts, jobId: `${name}-${randomUUID()}` } : opts;
}
