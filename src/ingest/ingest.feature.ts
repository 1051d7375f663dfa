import type { Feature } from '../feature.js';
import { ingestCli } from './ingest.cli.js';
import { ingestRoutes } from './ingest.routes.js';

/** Ingest: CSV imports (CLI) and the HTTP ingest API (customers, events, Segment, Stripe). */
export const ingestFeature: Feature = {
  name: 'ingest',
  routes: [ingestRoutes],
  cli: ingestCli,
};
