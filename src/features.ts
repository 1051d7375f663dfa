import { alertsFeature } from './alerts/alerts.feature.js';
import { commandsFeature } from './commands/commands.feature.js';
import { customersFeature } from './customers/customers.feature.js';
import { digestFeature } from './digest/digest.feature.js';
import type { Feature } from './feature.js';
import { feedbackFeature } from './feedback/feedback.feature.js';
import { homeFeature } from './home/home.feature.js';
import { ingestFeature } from './ingest/ingest.feature.js';
import { ownershipFeature } from './ownership/ownership.feature.js';
import { renewalsFeature } from './renewals/renewals.feature.js';
import { scoresFeature } from './scores/scores.feature.js';

/**
 * Every feature of retain, as values. `main.ts` and `cli.ts` wire this list;
 * tests and benches build the app from it too. Adding a feature is one line here.
 */
export const features: readonly Feature[] = [
  commandsFeature,
  customersFeature,
  ownershipFeature,
  feedbackFeature,
  homeFeature,
  ingestFeature,
  scoresFeature,
  alertsFeature,
  renewalsFeature,
  digestFeature,
];
