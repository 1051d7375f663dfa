import type { Feature } from '../feature.js';
import { digestCli } from './digest.cli.js';
import { digestHandlers } from './digest.job.js';
import { digestScheduleSpecs } from './digest.service.js';

/** The daily team digest: one scheduler per team at its local hour, plus a sync that follows time-zone and hour changes. */
export const digestFeature: Feature = {
  name: 'digest',
  jobs: digestHandlers,
  schedules: [
    digestScheduleSpecs,
    (ctx) => [{ id: 'schedule-sync', job: 'syncSchedules', pattern: '*/5 * * * *', tz: ctx.config.settings.schedules.timezone, data: {} }],
  ],
  cli: digestCli,
};
