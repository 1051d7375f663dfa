import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../platform/redis.js';
import { setMaxListeners } from 'node:events';
import type { AppContext } from '../platform/context.js';
import { metrics } from '../platform/metrics.js';
import { JOBS, QUEUES, type JobData, type JobName, type QueueName } from './catalog.js';

/**
 * A handler per job name. Handlers get the validated payload and the job (for
 * progress, moveToDelayed…). Every side effect must be idempotent: jobs run at
 * least once (a stalled job is re-run, and a job id's de-duplication lapses
 * once the job is removed). `stopping` is aborted when the worker starts
 * closing, or when this execution's lock could not be renewed (another
 * execution may take the job over): a long-running job hands the rest of its
 * work back rather than holding up shutdown or racing its double.
 */
export type JobHandler<N extends JobName> = (ctx: AppContext, data: JobData<N>, job: Job, token: string | undefined, stopping: AbortSignal) => Promise<unknown>;
export type HandlerMap = { [N in JobName]?: JobHandler<N> };

export interface WorkerOptions {
  concurrency?: Partial<Record<QueueName, number>>;
  queues?: QueueName[];
}

export function createWorkers(ctx: AppContext, connection: RedisClient, prefix: string, handlers: HandlerMap, opts: WorkerOptions = {}): Worker[] {
  const names = opts.queues ?? Object.values(QUEUES);
  const jobLockMs = ctx.config.settings.recovery.jobLockMs;
  return names.map((queueName) => {
    const stopping = new AbortController();
    // Every running job listens to it (and each of its waits to its own): many listeners is the normal case.
    setMaxListeners(0, stopping.signal);
    /** Executions running here, by job id (a job whose lock lapsed may run twice). */
    const running = new Map<string, Set<AbortController>>();
    const worker = new Worker(
      queueName,
      async (job, token) => {
        const name = job.name as JobName;
        const def = JOBS[name];
        if (!def || def.queue !== queueName) throw new UnrecoverableError(`unknown job ${job.name} on queue ${queueName}`);
        const parsed = def.schema.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`bad payload for ${job.name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
        const handler = handlers[name] as JobHandler<typeof name> | undefined;
        if (!handler) throw new UnrecoverableError(`no handler registered for ${job.name}`);
        const own = new AbortController();
        const id = job.id ?? '';
        const set = running.get(id) ?? new Set();
        running.set(id, set.add(own));
        const signal = AbortSignal.any([stopping.signal, own.signal]);
        setMaxListeners(0, signal);
        try {
          return await handler(ctx, parsed.data as never, job, token, signal);
        } finally {
          set.delete(own);
          if (set.size === 0) running.delete(id);
        }
      },
      {
        connection,
        prefix,
        // A delivery drains one channel, mostly waiting for its next pacing slot: many at once.
        concurrency: opts.concurrency?.[queueName] ?? (queueName === QUEUES.delivery ? ctx.config.settings.pacing.deliveryConcurrency : 2),
        // A rescore batch is CPU-bound for a while; don't let its lock lapse.
        // Deliveries are short: a crashed worker's delivery is re-run quickly.
        // A dead worker's job is taken over after its lock and at most one stalled check.
        lockDuration: queueName === QUEUES.delivery ? 10_000 : jobLockMs,
        stalledInterval: queueName === QUEUES.delivery ? 5_000 : Math.min(30_000, Math.ceil(jobLockMs / 2)),
        maxStalledCount: 3,
      },
    );
    worker.on('closing', () => stopping.abort());
    worker.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids) for (const c of running.get(id) ?? []) c.abort();
      ctx.logger.warn({ queue: queueName, jobs: ids.length }, 'job lock lost; its execution stops and hands its work back');
    });
    worker.on('completed', (job) => metrics.jobsFinished.inc({ queue: queueName, job: job.name, outcome: 'completed' }));
    worker.on('failed', (job) => metrics.jobsFinished.inc({ queue: queueName, job: job?.name ?? 'unknown', outcome: 'failed' }));
    worker.on('error', (err) => ctx.logger.warn({ queue: queueName, err: err.message }, 'worker error'));
    worker.on('failed', (job, err) =>
      ctx.logger.warn({ queue: queueName, job: job?.name, id: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'),
    );
    return worker;
  });
}
