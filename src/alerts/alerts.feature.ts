import type { Feature } from '../feature.js';
import { registerAlertListeners } from './alert.listeners.js';
import { alertsCli } from './alerts.cli.js';
import { deliveryHandlers, requeueUndelivered } from './delivery.job.js';
import { evaluateChurnWarnings } from './warning.service.js';

/** Churn warnings (raised from new scores, with their buttons) and the notification outbox that delivers every post. */
export const alertsFeature: Feature = {
  name: 'alerts',
  scoresWritten: [evaluateChurnWarnings],
  listeners: [registerAlertListeners],
  jobs: deliveryHandlers,
  // Re-enqueues outbox rows whose delivery job was lost (a Redis outage between claim and enqueue, a crash).
  schedules: [(ctx) => [{ id: 'outbox-sweep', job: 'sweepOutbox', pattern: '* * * * *', tz: ctx.config.settings.schedules.timezone, data: {} }]],
  // Redis lost its jobs: every undelivered row gets a delivery job again (rows still queued are left be).
  refeed: [requeueUndelivered],
  cli: alertsCli,
};
