import type { AppConfig } from '../config/index.js';
import type { Logger } from '../platform/logger.js';
import { JOBS, type JobName, type JobPayload } from './catalog.js';
import type { Queues } from './queues.js';

/**
 * Every repeating job, registered from this one place at start-up.
 * upsertJobScheduler is idempotent: several workers or a restart leave exactly
 * one scheduler per id (STACK.md trap 6: no custom jobId, no deduplication).
 */
export interface ScheduleSpec<N extends JobName = JobName> {
  id: string;
  job: N;
  pattern: string;
  tz: string;
  data: JobPayload<N>;
}

export function staticSchedules(config: AppConfig): ScheduleSpec[] {
  const s = config.settings.schedules;
  return [
    { id: 'rescore-incremental', job: 'rescore', pattern: s.rescoreIncremental, tz: s.timezone, data: { mode: 'incremental' } },
    { id: 'rescore-full', job: 'rescore', pattern: s.rescoreFull, tz: s.timezone, data: { mode: 'full' } },
    { id: 'fit-models', job: 'fit', pattern: s.fit, tz: s.timezone, data: {} },
    { id: 'outbox-sweep', job: 'sweepOutbox', pattern: '* * * * *', tz: s.timezone, data: {} },
    { id: 'run-watchdog', job: 'watchRuns', pattern: '*/10 * * * *', tz: s.timezone, data: {} },
    // Issue 4: renewal reminders (idempotent per reminder, so hourly is safe), and
    // the sync that moves per-team digest schedulers when a team's tz or hour changes.
    { id: 'renewal-scan', job: 'scanRenewals', pattern: s.renewalScan, tz: s.timezone, data: {} },
    { id: 'schedule-sync', job: 'syncSchedules', pattern: '*/5 * * * *', tz: s.timezone, data: {} },
  ];
}

export async function registerSchedules(queues: Queues, specs: ScheduleSpec[], logger: Logger): Promise<void> {
  for (const spec of specs) {
    const def = JOBS[spec.job];
    await queues.queue(def.queue).upsertJobScheduler(
      spec.id,
      { pattern: spec.pattern, tz: spec.tz },
      { name: spec.job, data: def.schema.parse(spec.data) as object },
    );
  }
  logger.info({ schedules: specs.map((s) => s.id) }, 'schedules registered');
}

