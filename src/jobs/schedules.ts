import type { Logger } from '../platform/logger.js';
import { JOBS, type JobName, type JobPayload } from './catalog.js';
import type { Queues } from './queues.js';

/**
 * A repeating job. Features contribute theirs; the worker registers them all
 * from one place at start-up. upsertJobScheduler is idempotent, so several
 * workers or a restart leave exactly one scheduler per id (schedulers take no
 * custom job id and must not be combined with deduplication).
 */
export interface ScheduleSpec<N extends JobName = JobName> {
  id: string;
  job: N;
  pattern: string;
  tz: string;
  data: JobPayload<N>;
}

export async function registerSchedules(queues: Queues, specs: ScheduleSpec[], logger: Logger): Promise<void> {
  for (const spec of specs) {
    const def = JOBS[spec.job];
    await queues
      .queue(def.queue)
      .upsertJobScheduler(spec.id, { pattern: spec.pattern, tz: spec.tz }, { name: spec.job, data: def.schema.parse(spec.data) as object });
  }
  logger.info({ schedules: specs.map((s) => s.id) }, 'schedules registered');
}
