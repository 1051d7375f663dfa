import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './20261124_0001_domain.js';
import * as m0100 from './20261124_0100_ingest.js';
import * as m0200 from './20261124_0200_ownership.js';
import * as m0300 from './20261124_0300_alerts.js';
import * as m0400 from './20261124_0400_scoring.js';
import * as m0500 from './20261124_0500_delivery_jobs.js';
import * as m0600 from './20261124_0600_lean_history.js';
import * as m0800 from './20261206_0100_customer_search.js';

/**
 * Static migration provider (STACK.md trap 8): FileMigrationProvider breaks
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
  '20261206_0100_customer_search': m0800,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
