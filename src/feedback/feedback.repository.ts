import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { FeedbackKind, FeedbackKindSource, InteractionKind } from './feedback.table.js';

/** Queries for feedback and interactions: plain functions, `db` or `trx` first. */

export async function insertFeedback(
  trx: DbOrTrx,
  f: {
    customerId: string;
    authorSlackId: string;
    kind: FeedbackKind;
    kindSource: FeedbackKindSource;
    sentiment: number;
    text: string;
    source: 'slash' | 'shortcut';
    message: { channel: string; ts: string } | null;
    permalink: string | null;
    at: Date;
  },
): Promise<string | null> {
  const row = await trx
    .insertInto('feedback')
    .values({
      customer_id: f.customerId,
      author_slack_id: f.authorSlackId,
      kind: f.kind,
      kind_source: f.kindSource,
      sentiment: f.sentiment.toFixed(3),
      text: f.text,
      source: f.source,
      message_channel_id: f.message?.channel ?? null,
      message_ts: f.message?.ts ?? null,
      message_permalink: f.permalink,
      created_at: f.at,
    })
    // The same Slack message logged twice for the same customer is one feedback.
    .onConflict((oc) => oc.columns(['customer_id', 'message_channel_id', 'message_ts']).where('message_ts', 'is not', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id ?? null;
}

export async function findFeedbackForMessage(
  db: DbOrTrx,
  customerId: string,
  channel: string,
  ts: string,
): Promise<{ id: string; kind: FeedbackKind } | undefined> {
  return db
    .selectFrom('feedback')
    .select(['id', 'kind'])
    .where('customer_id', '=', customerId)
    .where('message_channel_id', '=', channel)
    .where('message_ts', '=', ts)
    .executeTakeFirst();
}

export async function setFeedbackPermalink(db: DbOrTrx, id: string, permalink: string): Promise<void> {
  await db.updateTable('feedback').set({ message_permalink: permalink }).where('id', '=', id).where('message_permalink', 'is', null).execute();
}

export async function setFeedbackAlert(trx: DbOrTrx, id: string, alertId: string): Promise<void> {
  await trx.updateTable('feedback').set({ alert_id: alertId }).where('id', '=', id).execute();
}

/** Incremental rescoring picks customers whose data changed after their last score: the change happened `at` (the app's clock). */
export async function bumpDataChanged(trx: DbOrTrx, customerId: string, at: Date): Promise<void> {
  await trx.updateTable('customers').set({ data_changed_at: at }).where('id', '=', customerId).execute();
}

export interface FeedbackAccount {
  id: string;
  name: string;
  teamId: number | null;
  teamChannelId: string | null;
  owner: { slackUserId: string; alertChannelId: string | null } | null;
  tier: 'A' | 'B' | 'C' | null;
  health: number | null;
  band: 'green' | 'yellow' | 'red' | null;
  pAlive: number | null;
}

/** The customer with its owner, team channel and latest score, locked for the transaction. */
export async function lockFeedbackAccount(trx: DbOrTrx, customerId: string): Promise<FeedbackAccount | undefined> {
  const locked = await trx
    .selectFrom('customers')
    .select(['id', 'name', 'owner_member_id', 'team_id'])
    .where('id', '=', customerId)
    .forUpdate()
    .executeTakeFirst();
  if (!locked) return undefined;
  const [owner, team, score] = await Promise.all([
    locked.owner_member_id === null
      ? undefined
      : trx
          .selectFrom('members')
          .select(['slack_user_id', 'alert_channel_id'])
          .where('id', '=', locked.owner_member_id)
          .where('active', '=', true)
          .executeTakeFirst(),
    locked.team_id === null ? undefined : trx.selectFrom('teams').select('channel_id').where('id', '=', locked.team_id).executeTakeFirst(),
    trx.selectFrom('customer_scores').select(['tier', 'health', 'band', 'p_alive']).where('customer_id', '=', customerId).executeTakeFirst(),
  ]);
  return {
    id: locked.id,
    name: locked.name,
    teamId: locked.team_id,
    teamChannelId: team?.channel_id ?? null,
    owner: owner ? { slackUserId: owner.slack_user_id, alertChannelId: owner.alert_channel_id } : null,
    tier: score?.tier ?? null,
    health: score?.health ?? null,
    band: score?.band ?? null,
    pAlive: score?.p_alive ?? null,
  };
}

/**
 * Record a complaint_tier_a alert. Episodes are numbered per customer across
 * every rule (the alerts table's unique key), so take the next free number;
 * ON CONFLICT DO NOTHING (rather than an error) keeps the transaction alive if
 * a churn warning took that number meanwhile, and we try the next one.
 */
export async function insertComplaintAlert(
  trx: DbOrTrx,
  a: { customerId: string; health: number | null; band: string | null; pAlive: number | null; driverText: string; at: Date },
): Promise<{ id: string; episode: number } | null> {
  const drivers = JSON.stringify([{ key: 'complaint', direction: 'down', impact: 1, text: a.driverText }]);
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await sql<{ id: string; episode: number }>`
      INSERT INTO alerts (customer_id, rule, episode, health, band, p_alive, drivers, raised_at)
      VALUES (${a.customerId}, 'complaint_tier_a',
              (SELECT coalesce(max(episode), 0) + 1 + ${attempt} FROM alerts WHERE customer_id = ${a.customerId}),
              ${a.health}, ${a.band}, ${a.pAlive}, ${drivers}::jsonb, ${a.at})
      ON CONFLICT DO NOTHING
      RETURNING id::text AS id, episode`.execute(trx);
    if (r.rows[0]) return r.rows[0];
  }
  return null;
}

export async function insertInteraction(
  trx: DbOrTrx,
  i: { customerId: string; authorSlackId: string; kind: InteractionKind; note: string; at: Date },
): Promise<string> {
  const r = await trx
    .insertInto('interactions')
    .values({ customer_id: i.customerId, author_slack_id: i.authorSlackId, kind: i.kind, note: i.note, occurred_at: i.at, created_at: i.at })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

export async function customerName(db: DbOrTrx, customerId: string): Promise<string | undefined> {
  if (!/^\d{1,18}$/.test(customerId)) return undefined;
  return (await db.selectFrom('customers').select('name').where('id', '=', customerId).executeTakeFirst())?.name;
}
