import type { Feature } from '../feature.js';
import { renewalHandlers } from './renewal.job.js';
import { registerRenewalListeners } from './renewal.listeners.js';
import { renewalsCli } from './renewals.cli.js';

/** Renewal reminders (at 90…1 days before), their Renewed / Churned / Snooze buttons, and the renewal rate. */
export const renewalsFeature: Feature = {
  name: 'renewals',
  listeners: [registerRenewalListeners],
  jobs: renewalHandlers,
  // Each reminder is sent once per (renewal, days-before), so scanning often is safe.
  schedules: [
    (ctx) => [
      { id: 'renewal-scan', job: 'scanRenewals', pattern: ctx.config.settings.schedules.renewalScan, tz: ctx.config.settings.schedules.timezone, data: {} },
    ],
  ],
  // Reminders that fell due while no worker ran go out at start, not at the next scan; workers
  // starting together add one scan (deduplicated until it completes), a later restart another.
  workerStart: [(ctx) => ctx.queues?.add('scanRenewals', {}, { deduplication: { id: 'renewal-scan-on-start' } }) ?? Promise.resolve()],
  cli: renewalsCli,
};
