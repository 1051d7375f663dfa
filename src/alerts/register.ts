/**
 * Issue 4 — churn warnings, renewal reminders, daily digests, notification
 * outbox: registers the scores-written hook, Slack listeners, per-team digest
 * schedules and CLI verbs with the composition root (imported once, from
 * src/features.ts). Job handlers are in src/jobs/handlers.ts.
 */
import { digestScheduleSpecs } from '../digest/digest.service.js';
import { addSchedules } from '../main.js';
import { registerRenewalListeners } from '../renewals/renewal.listeners.js';
import { onScoresWritten } from '../scores/hooks.js';
import { addListeners } from '../slack/app.js';
import { registerAlertListeners } from './alert.listeners.js';
import './alerts.cli.js';
import { evaluateChurnWarnings } from './warning.service.js';

onScoresWritten(async (ctx, run, scored) => {
  await evaluateChurnWarnings(ctx, run, scored);
});
addListeners(registerAlertListeners);
addListeners(registerRenewalListeners);
addSchedules(digestScheduleSpecs);
