import type { Kysely } from 'kysely';

/**
 * Delivery drains a channel's messages in one job (paced per channel): each
 * outbox row records which job owns it, so only that job may claim it and the
 * sweep can tell a row whose job is alive from one whose job was lost.
 * Frozen in time: takes Kysely<any>, imports nothing from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').addColumn('delivery_job', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('delivery_job').execute();
}
