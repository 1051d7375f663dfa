import { Migrator, type MigrationResultSet } from 'kysely';
import { migrationProvider } from '../../migrations/index.js';
import { createDb, ensureDatabase } from './db.js';
import type { Db } from './db.js';
import type { Logger } from './logger.js';

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(result.error as Error).message ?? result.error}`);
  }
  return result;
}

/** `retain migrate`: create the database when missing, then migrate. Returns applied migration names. */
export async function createAndMigrate(url: string, logger: Logger): Promise<{ created: boolean; applied: string[] }> {
  const created = await ensureDatabase(url);
  const handle = createDb(url, logger, 2);
  try {
    const result = await migrateToLatest(handle.db);
    return { created, applied: (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
  } finally {
    await handle.close();
  }
}
