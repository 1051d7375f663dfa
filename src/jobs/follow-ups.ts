import type { AppConfig } from '../config/index.js';
import type { Logger } from '../platform/logger.js';
import { withDetachedQueues } from './detached.js';
import type { Queues } from './queues.js';

/**
 * What a change in data sets going, through the queue (so it works the same
 * from the web role, the CLI and a worker): a debounced incremental rescore
 * of the changed customers — their warnings follow from its batches — and,
 * when customer records changed (renewal dates among them), a debounced
 * renewal scan.
 *
 * Debounce = BullMQ's deduplication in throttle mode: the first change in a
 * window adds a job delayed by the window, and the changes after it, until
 * the window closes, are dropped as duplicates. The window (the key's ttl)
 * closes no later than the job can start (its delay), so every dropped change
 * was committed before the run reads the data: the run covers it. A burst of
 * a thousand ingest batches makes one run per window, not a thousand.
 * (Deduplication is never combined with a job scheduler: these are plain jobs.)
 */
export interface DataChange {
  /** Data that scores read changed (default true): signals, feedback, touches, customer records. */
  scores?: boolean;
  /** Customer records changed (created, renewal date, status…): renewal reminders may be due. */
  renewals?: boolean;
}

export type FollowUpOutcome = 'queued' | 'no-queue' | 'unreachable';

export const FOLLOW_UP_IDS = { rescore: 'rescore-after-change', renewals: 'renewal-scan-after-change' } as const;

export interface FollowUpDeps {
  queues: Queues | null;
  config: AppConfig;
  logger: Logger;
}

/**
 * Ask for the follow-ups of a committed change. Never throws: with Redis
 * unreachable the change is still in Postgres, and a worker finds it when it
 * starts or at the next scheduled run.
 */
export async function followUpDataChange(deps: FollowUpDeps, change: DataChange = {}): Promise<FollowUpOutcome> {
  const queues = deps.queues;
  if (!queues) return 'no-queue';
  const debounce = deps.config.settings.schedules.debounceMs;
  const throttled = (id: string) => ({ deduplication: { id, ttl: debounce }, delay: debounce });
  let timer: NodeJS.Timeout | undefined;
  try {
    const queued = (async () => {
      if (change.scores !== false) await queues.add('rescore', { mode: 'incremental', reason: 'change' }, throttled(FOLLOW_UP_IDS.rescore));
      if (change.renewals) await queues.add('scanRenewals', {}, throttled(FOLLOW_UP_IDS.renewals));
    })();
    // The caller answers a person or an ingest client: Redis gets a bounded moment, never the request.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis in ${FOLLOW_UP_TIMEOUT_MS} ms`)), FOLLOW_UP_TIMEOUT_MS);
    });
    queued.catch(() => undefined);
    await Promise.race([queued, late]);
    return 'queued';
  } catch (error) {
    deps.logger.warn(
      { err: (error as Error).message },
      'could not queue the rescore of changed data; a worker picks it up when it starts or at the next scheduled run',
    );
    return 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

const FOLLOW_UP_TIMEOUT_MS = 2_000;

/** The same, from a process that has no queues of its own (a CLI import). */
export async function followUpDetached(config: AppConfig, logger: Logger, change: DataChange = {}): Promise<FollowUpOutcome> {
  const done = await withDetachedQueues(config, logger, (queues) => followUpDataChange({ queues, config, logger }, change));
  return done?.value ?? 'unreachable';
}
