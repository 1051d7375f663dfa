import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';

export interface NewNotification {
  dedupeKey: string;
  kind: string;
  /** A channel id, or a user id (U…) meaning that user's DM with the bot. */
  channel: string;
  text: string;
  blocks?: unknown[];
  customerId?: string | null;
  teamId?: number | null;
}

/** Claim the de-duplication key; returns the new row id, or null when already claimed. */
export async function claimNotification(db: DbOrTrx, n: NewNotification): Promise<string | null> {
  const row = await db
    .insertInto('notifications')
    .values({
      dedupe_key: n.dedupeKey,
      kind: n.kind,
      channel_id: n.channel,
      payload: JSON.stringify({ text: n.text, ...(n.blocks ? { blocks: n.blocks } : {}) }),
      customer_id: n.customerId ?? null,
      team_id: n.teamId ?? null,
    })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function getNotification(db: DbOrTrx, id: string) {
  return db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function getNotificationByKey(db: DbOrTrx, dedupeKey: string) {
  return db.selectFrom('notifications').selectAll().where('dedupe_key', '=', dedupeKey).executeTakeFirst();
}

/** pending|sending → sending, remembering where and when we started posting. */
export async function markSending(db: DbOrTrx, id: string, postedChannel: string): Promise<boolean> {
  const r = await db
    .updateTable('notifications')
    .set({ status: 'sending', posted_channel_id: postedChannel, sending_started_at: sql<Date>`coalesce(sending_started_at, now())`, attempts: sql<number>`attempts + 1`, updated_at: new Date() })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'sending'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function markSent(db: DbOrTrx, id: string, postedChannel: string, ts: string): Promise<void> {
  await db
    .updateTable('notifications')
    .set({ status: 'sent', posted_channel_id: postedChannel, message_ts: ts, sent_at: new Date(), last_error: null, updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '!=', 'sent')
    .execute();
}

/** The post certainly did not happen (429, 5xx before acceptance): back to pending. */
export async function markNotPosted(db: DbOrTrx, id: string, error: string): Promise<void> {
  await db
    .updateTable('notifications')
    .set({ status: 'pending', sending_started_at: null, last_error: error.slice(0, 500), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'sending'])
    .execute();
}

export async function markFailed(db: DbOrTrx, id: string, reason: string): Promise<void> {
  await db
    .updateTable('notifications')
    .set({ status: 'failed', last_error: reason.slice(0, 500), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '!=', 'sent')
    .execute();
}

/** Rows that should be on their way but may have lost their job (Redis outage, crash). */
export async function listStrandedIds(db: DbOrTrx, olderThanSeconds: number, limit = 1000): Promise<string[]> {
  const rows = await db
    .selectFrom('notifications')
    .select('id')
    .where('status', 'in', ['pending', 'sending'])
    .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export async function listUnsent(db: DbOrTrx, limit = 200) {
  return db
    .selectFrom('notifications')
    .select(['id', 'kind', 'channel_id', 'status', 'attempts', 'last_error', 'created_at', 'dedupe_key'])
    .where('status', '!=', 'sent')
    .orderBy('status')
    .orderBy('created_at')
    .limit(limit)
    .execute();
}

/** `retain outbox --retry`: failed → pending, returning the ids to enqueue again. */
export async function resetFailed(db: DbOrTrx, ids?: string[]): Promise<string[]> {
  let q = db
    .updateTable('notifications')
    .set({ status: 'pending', attempts: 0, sending_started_at: null, updated_at: new Date() })
    .where('status', '=', 'failed');
  if (ids?.length) q = q.where('id', 'in', ids);
  const rows = await q.returning('id').execute();
  return rows.map((r) => r.id);
}
