import { z } from 'zod';

/**
 * The queue catalog: every job's queue, name and zod payload schema in one
 * place (after documenso's job definitions). Payloads are checked when a worker
 * takes the job; a bad payload fails it for good (UnrecoverableError).
 * Job ids must not contain ':' nor be all digits (BullMQ reserves both forms).
 */
export const QUEUES = {
  /** Scoring runs, batches and model fits: CPU and database heavy. */
  scoring: 'scoring',
  /** Slack deliveries from the notification outbox: paced per channel. */
  delivery: 'delivery',
  /** Periodic scans: renewals, digests, dispute expiry, outbox sweeps. */
  scans: 'scans',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const isoDateTime = z
  .string()
  .datetime({ offset: true })
  .or(z.string().regex(/^\d{4}-\d{2}-\d{2}$/));

export const JOBS = {
  /**
   * Open a scoring run. `reason`: what asked for it — the schedule, a change
   * in data (debounced), a worker catching up at start, or a person. A run
   * asked for by a change or at start is a full one while the book has never
   * had a full run (RFM and tier edges come from it).
   */
  rescore: {
    queue: QUEUES.scoring,
    // Its id is the run's job key in Postgres (a re-run of the job reuses the
    // run): an id from the queue's own counter would start again at 1 after
    // Redis is lost or the prefix changes, and a new job would find an old,
    // finished run and score nobody.
    uniqueIds: true,
    schema: z.object({
      mode: z.enum(['full', 'incremental']).default('incremental'),
      asOf: isoDateTime.optional(),
      reason: z.enum(['schedule', 'change', 'start', 'manual']).optional(),
    }),
  },
  rescoreBatch: {
    queue: QUEUES.scoring,
    schema: z.object({ runId: z.string().regex(/^\d+$/), batch: z.number().int().min(0), customerIds: z.array(z.string().regex(/^\d+$/)).min(1) }),
  },
  fit: { queue: QUEUES.scoring, schema: z.object({ asOf: isoDateTime.optional() }) },
  /** Deliver the outbox rows this job owns: per channel (or user, for a DM), in order, paced. */
  deliver: {
    queue: QUEUES.delivery,
    schema: z.object({
      deliveries: z
        .array(z.object({ channel: z.string().min(1).max(100), ids: z.array(z.string().regex(/^\d+$/)).min(1).max(1_000) }))
        .min(1)
        .max(200),
    }),
  },
  /** Re-enqueue outbox rows whose job was lost (Redis outage between claim and enqueue, crash). */
  sweepOutbox: { queue: QUEUES.scans, schema: z.object({}) },
  /** Re-feed scoring runs whose batch jobs were lost (Redis outage); give up on runs open for a day. */
  watchRuns: { queue: QUEUES.scans, schema: z.object({}) },
  /** Escalate ownership disputes undecided after disputes.escalateAfterDays (re-posted once). */
  expireDisputes: { queue: QUEUES.scans, schema: z.object({}) },
  /** Renewal reminders due today; idempotent per customer, renewal date and reminder day. */
  scanRenewals: { queue: QUEUES.scans, schema: z.object({}) },
  /** One team's daily digest; localDate defaults to today in the team's time zone. */
  digest: {
    queue: QUEUES.scans,
    schema: z.object({
      teamId: z.number().int().positive(),
      localDate: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/)
        .optional(),
    }),
  },
  /** Enqueue today's digest for every team (catch-up after downtime, or on demand). */
  digestFanout: { queue: QUEUES.scans, schema: z.object({ onlyDue: z.boolean().default(true) }) },
  /** Re-register per-team digest schedulers (a team's tz or hour changed, a team was added or removed). */
  syncSchedules: { queue: QUEUES.scans, schema: z.object({}) },
} as const satisfies Record<string, { queue: QueueName; schema: z.ZodType; uniqueIds?: boolean }>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.input<(typeof JOBS)[N]['schema']>;
export type JobData<N extends JobName> = z.output<(typeof JOBS)[N]['schema']>;

/** Retention is always set (BullMQ going-to-production). */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5_000 },
};
