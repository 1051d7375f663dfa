import type { Kysely } from 'kysely';

/**
 * Each claim of an outbox row is one delivery execution's, for a while: the
 * claim token says whose, the lease until when. Two executions of the same
 * job (a lock lost to a Redis restart) can no longer both take a row that is
 * being sent; a crashed execution's row is free again once its lease ends.
 * Frozen in time: takes Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').addColumn('claim_token', 'text').addColumn('lease_until', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('lease_until').dropColumn('claim_token').execute();
}
