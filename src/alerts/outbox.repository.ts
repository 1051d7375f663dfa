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
  /** The delivery job that will own the row, when known at claim time (saves assigning it after). */
  deliveryJob?: string;
  /** Edit this earlier message of ours (its ts, in `channel`) instead of posting a new one. */
  updateTs?: string;
}

/** Claim the de-duplication key; returns the new row id, or null when already claimed. */
export async function claimNotification(db: DbOrTrx, n: NewNotification): Promise<string | null> {
  const [row] = await claimNotifications(db, [n]);
  return row?.id ?? null;
}

/**
 * Claim many keys in one statement (digests, reminder scans); returns the rows
 * actually created (id, key, channel) — already-claimed keys are skipped.
 */
export async function claimNotifications(db: DbOrTrx, list: NewNotification[]): Promise<{ id: string; dedupe_key: string; channel_id: string }[]> {
  if (list.length === 0) return [];
  // Columns as arrays (unnest): six parameters however many rows, not six per row.
  const { rows } = await sql<{ id: string; dedupe_key: string; channel_id: string }>`
    INSERT INTO notifications (dedupe_key, kind, channel_id, payload, customer_id, team_id, delivery_job)
    SELECT * FROM unnest(
      ${list.map((n) => n.dedupeKey)}::text[], ${list.map((n) => n.kind)}::text[], ${list.map((n) => n.channel)}::text[],
      ${list.map((n) => JSON.stringify({ text: n.text, ...(n.blocks ? { blocks: n.blocks } : {}), ...(n.updateTs ? { update_ts: n.updateTs } : {}) }))}::jsonb[],
      ${list.map((n) => n.customerId ?? null)}::bigint[], ${list.map((n) => n.teamId ?? null)}::int[],
      ${list.map((n) => n.deliveryJob ?? null)}::text[]
    )
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id::text AS id, dedupe_key, channel_id
  `.execute(db);
  return rows;
}

/** A row to (re)schedule: its channel, and the job that owned it last, if any. */
export interface ScheduledRow {
  id: string;
  channel_id: string;
  delivery_job?: string | null;
}

export async function getNotification(db: DbOrTrx, id: string) {
  return db.selectFrom('notifications').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Sent messages by key: where they are in Slack and what they said. */
export async function sentMessagesByKey(db: DbOrTrx, keys: readonly string[]) {
  if (keys.length === 0) return [];
  return db
    .selectFrom('notifications')
    .select(['dedupe_key', 'posted_channel_id', 'message_ts', 'payload', 'team_id', 'customer_id'])
    .where('dedupe_key', 'in', [...keys])
    .where('status', '=', 'sent')
    .where('message_ts', 'is not', null)
    .execute();
}

export async function getNotificationByKey(db: DbOrTrx, dedupeKey: string) {
  return db.selectFrom('notifications').selectAll().where('dedupe_key', '=', dedupeKey).executeTakeFirst();
}

export interface ClaimedForSending {
  id: string;
  dedupe_key: string;
  kind: string;
  channel_id: string;
  payload: { text: string; blocks?: unknown[]; thread_ts?: string; update_ts?: string };
  created_at: Date;
  /** Claims so far, this one included (a 429 gives its claim back). */
  attempts: number;
  /** Status before this claim: 'sending' means an earlier attempt may have posted. */
  prev_status: 'pending' | 'sending';
  prev_started_at: Date | null;
  prev_posted_channel_id: string | null;
}

/** A claim's outcome: the row (now this execution's, for the lease), or held by another execution for this long yet. */
export type ClaimOutcome = { outcome: 'claimed'; row: ClaimedForSending } | { outcome: 'held'; id: string; heldForMs: number };

/**
 * pending|sending → sending for many rows in one statement, returning each
 * row's message and its status before: the delivery job's first (and, with
 * markSentMany, only other) database round trip. Only the job recorded on a
 * row may claim it, and only one execution of that job at a time: the claim
 * takes the row for `leaseMs` under the execution's token. A row another
 * execution holds (its lease still running) comes back as held; sent or
 * failed rows, and rows owned by another job, do not come back at all.
 */
export async function claimForSending(
  db: DbOrTrx,
  items: { id: string; postedChannel: string; job: string; token: string }[],
  leaseMs: number,
): Promise<(ClaimOutcome & { token: string })[]> {
  if (items.length === 0) return [];
  // Two executions may ask for the same row in one statement: the update
  // takes it for one of them (RETURNING says which), the other is told it is held.
  const { rows } = await sql<ClaimedForSending & { token: string; held_for_ms: number | null }>`
    WITH v(id, posted, job, token) AS (
      SELECT * FROM unnest(${items.map((i) => i.id)}::bigint[], ${items.map((i) => i.postedChannel)}::text[], ${items.map((i) => i.job)}::text[], ${items.map((i) => i.token)}::text[])
    ),
    cur AS (
      SELECT n.id, v.token, n.status, n.sending_started_at, n.posted_channel_id,
             (n.claim_token IS NOT NULL AND n.claim_token <> v.token AND n.lease_until > now()) AS held,
             greatest(0, extract(epoch FROM n.lease_until - now()) * 1000)::int AS held_for_ms
      FROM notifications n JOIN v ON v.id = n.id AND v.job = n.delivery_job
      WHERE n.status IN ('pending', 'sending') FOR UPDATE OF n
    ),
    took AS (
      UPDATE notifications n
      SET status = 'sending', posted_channel_id = v.posted, sending_started_at = coalesce(n.sending_started_at, now()),
          attempts = n.attempts + 1, claim_token = v.token, lease_until = now() + make_interval(secs => ${leaseMs / 1000}::double precision),
          updated_at = now()
      FROM cur JOIN v ON v.id = cur.id AND v.token = cur.token
      WHERE n.id = cur.id AND NOT cur.held
      RETURNING n.id, v.token, n.dedupe_key, n.kind, n.channel_id, n.payload, n.created_at, n.attempts,
                cur.status AS prev_status, cur.sending_started_at AS prev_started_at, cur.posted_channel_id AS prev_posted_channel_id
    )
    SELECT took.id::text AS id, took.token, took.dedupe_key, took.kind, took.channel_id, took.payload, took.created_at, took.attempts,
           took.prev_status, took.prev_started_at, took.prev_posted_channel_id, NULL::int AS held_for_ms
    FROM took
    UNION ALL
    SELECT cur.id::text, cur.token, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, cur.held_for_ms FROM cur WHERE cur.held
    UNION ALL
    SELECT v.id::text, v.token, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ${leaseMs}::int
    FROM v JOIN took ON took.id = v.id AND took.token <> v.token
  `.execute(db);
  return rows.map((r) =>
    r.held_for_ms === null
      ? {
          outcome: 'claimed' as const,
          token: r.token,
          row: {
            id: r.id,
            dedupe_key: r.dedupe_key,
            kind: r.kind,
            channel_id: r.channel_id,
            payload: r.payload,
            created_at: r.created_at,
            attempts: r.attempts,
            prev_status: r.prev_status,
            prev_started_at: r.prev_started_at,
            prev_posted_channel_id: r.prev_posted_channel_id,
          },
        }
      : { outcome: 'held' as const, token: r.token, id: r.id, heldForMs: Number(r.held_for_ms) },
  );
}

/**
 * Extend this execution's lease on a row it is about to send (a long wait
 * or a slow look-up ate into it). False when the row is no longer its own.
 */
export async function renewLease(db: DbOrTrx, id: string, token: string, leaseMs: number): Promise<boolean> {
  const r = await db
    .updateTable('notifications')
    .set({ lease_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000}::double precision)` })
    .where('id', '=', id)
    .where('claim_token', '=', token)
    .where('status', '=', 'sending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Hand rows to their delivery job (one statement): from now on only that job
 * may claim them. A row an execution holds (its lease running) is not taken
 * from it — a second job would look the row up in Slack before that
 * execution has posted, and post it again. Returns the ids handed over.
 */
export async function assignDeliveryJobs(db: DbOrTrx, items: { id: string; job: string }[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const { rows } = await sql<{ id: string }>`
    UPDATE notifications n SET delivery_job = v.job
    FROM unnest(${items.map((i) => i.id)}::bigint[], ${items.map((i) => i.job)}::text[]) AS v(id, job)
    WHERE n.id = v.id
      AND (n.status = 'pending' OR (n.status = 'sending' AND (n.lease_until IS NULL OR n.lease_until <= now())))
    RETURNING n.id::text AS id
  `.execute(db);
  return new Set(rows.map((r) => r.id));
}

/**
 * A claim given back before posting (the pacing gate said wait, shutdown,
 * Slack or Redis away): not an attempt. Pending again — unless an earlier
 * attempt may have posted it and nobody has looked yet (`unsure`): then it
 * stays 'sending', so whoever takes it next looks it up in Slack first.
 */
export async function releaseClaim(db: DbOrTrx, id: string, token: string, unsure = false): Promise<void> {
  await db
    .updateTable('notifications')
    .set({
      status: unsure ? 'sending' : 'pending',
      ...(unsure ? {} : { sending_started_at: null }),
      attempts: sql<number>`greatest(attempts - 1, 0)`,
      claim_token: null,
      lease_until: null,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('claim_token', '=', token)
    .execute();
}

/** Many rows → sent with their message ts, in one statement. */
export async function markSentMany(db: DbOrTrx, items: { id: string; channel: string; ts: string }[]): Promise<void> {
  if (items.length === 0) return;
  await sql`
    UPDATE notifications n
    SET status = 'sent', posted_channel_id = v.channel, message_ts = v.ts, sent_at = now(), last_error = NULL, claim_token = NULL, lease_until = NULL, updated_at = now()
    FROM unnest(${items.map((i) => i.id)}::bigint[], ${items.map((i) => i.channel)}::text[], ${items.map((i) => i.ts)}::text[]) AS v(id, channel, ts)
    WHERE n.id = v.id AND n.status <> 'sent'
  `.execute(db);
}

/** This post certainly did not happen (429, Slack unreachable): the try does not count; see releaseClaim for `unsure`. */
export async function markNotPosted(db: DbOrTrx, id: string, token: string, error: string, unsure = false): Promise<void> {
  await db
    .updateTable('notifications')
    .set({
      status: unsure ? 'sending' : 'pending',
      ...(unsure ? {} : { sending_started_at: null }),
      attempts: sql<number>`greatest(attempts - 1, 0)`,
      last_error: error.slice(0, 500),
      claim_token: null,
      lease_until: null,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .where('status', 'in', ['pending', 'sending'])
    .where('claim_token', '=', token)
    .execute();
}

export async function markFailed(db: DbOrTrx, id: string, reason: string): Promise<void> {
  await db
    .updateTable('notifications')
    .set({ status: 'failed', last_error: reason.slice(0, 500), claim_token: null, lease_until: null, updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '!=', 'sent')
    .execute();
}

/**
 * A transient failure of the post itself: remember why and let go of the
 * row; it stays 'sending' (the post may have reached Slack), so whoever
 * takes it next looks it up in Slack before posting again.
 */
export async function noteError(db: DbOrTrx, id: string, token: string, error: string): Promise<void> {
  await db
    .updateTable('notifications')
    .set({ last_error: error.slice(0, 500), claim_token: null, lease_until: null, updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '!=', 'sent')
    .where('claim_token', '=', token)
    .execute();
}

/**
 * Rows that should be on their way but may have lost their job (Redis outage
 * between claim and enqueue, a job that stalled too often). Rows merely
 * waiting for a far pacing slot show up too; the sweep skips those whose job
 * is still queued.
 */
export async function listStranded(db: DbOrTrx, olderThanSeconds: number, limit = 1000): Promise<ScheduledRow[]> {
  return db
    .selectFrom('notifications')
    .select(['id', 'channel_id', 'delivery_job'])
    .where('status', 'in', ['pending', 'sending'])
    .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function listUnsent(db: DbOrTrx, limit = 200) {
  return db
    .selectFrom('notifications')
    .select(['id', 'kind', 'channel_id', 'status', 'attempts', 'last_error', 'created_at', 'updated_at', 'dedupe_key'])
    .where('status', 'in', ['pending', 'sending', 'failed'])
    .orderBy('status')
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function countUnsent(db: DbOrTrx): Promise<Record<'pending' | 'sending' | 'failed', number>> {
  const rows = await db
    .selectFrom('notifications')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('status', 'in', ['pending', 'sending', 'failed'])
    .groupBy('status')
    .execute();
  const out = { pending: 0, sending: 0, failed: 0 };
  for (const r of rows) out[r.status as keyof typeof out] = Number(r.n);
  return out;
}

/** `retain outbox --retry`: failed → pending, returning the rows to enqueue again. */
export async function resetFailed(db: DbOrTrx, ids?: string[]): Promise<ScheduledRow[]> {
  let q = db
    .updateTable('notifications')
    .set({ status: 'pending', attempts: 0, sending_started_at: null, claim_token: null, lease_until: null, updated_at: new Date() })
    .where('status', '=', 'failed');
  if (ids?.length) q = q.where('id', 'in', ids);
  return q.returning(['id', 'channel_id', 'delivery_job']).execute();
}

/** Failed notifications of a team since a time (the digest's last section). */
export async function listFailedForTeam(db: DbOrTrx, teamId: number, since: Date, limit = 50) {
  return db
    .selectFrom('notifications')
    .select(['id', 'kind', 'channel_id', 'last_error', 'updated_at'])
    .where('team_id', '=', teamId)
    .where('status', '=', 'failed')
    .where('updated_at', '>=', since)
    .orderBy('updated_at', 'desc')
    .limit(limit)
    .execute();
}
