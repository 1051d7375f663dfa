import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './20261124_0001_domain.js';
import * as m0100 from './20261124_0100_ingest.js';
import * as m0200 from './20261124_0200_ownership.js';
import * as m0300 from './20261124_0300_alerts.js';
import * as m0400 from './20261124_0400_scoring.js';
import * as m0500 from './20261124_0500_delivery_jobs.js';
import * as m0600 from './20261124_0600_lean_history.js';
import * as m1210_0100 from './20261210_0100_delivery_lease.js';
import * as m1212 from './20261212_0100_churn_models.js';
import * as m1213 from './20261213_0100_freshness.js';
import * as m1214 from './20261214_0100_customer_search.js';

/**
 * Static migration provider: FileMigrationProvider breaks
 * under vitest and bundlers. Add each new migration here, in order.
 */
export const migrations: Record<string, Migration> = {
  '20261124_0001_domain': m0001,
  '20261124_0100_ingest': m0100,
  '20261124_0200_ownership': m0200,
  '20261124_0300_alerts': m0300,
  '20261124_0400_scoring': m0400,
  '20261124_0500_delivery_jobs': m0500,
  '20261124_0600_lean_history': m0600,
  '20261210_0100_delivery_lease': m1210_0100,
  '20261212_0100_churn_models': m1212,
  '20261213_0100_freshness': m1213,
  '20261214_0100_customer_search': m1214,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
