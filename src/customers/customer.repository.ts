import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { Candidate } from './lookup.rules.js';
import { likePattern, normalizeQuery } from './lookup.rules.js';

/**
 * Fuzzy candidates on name, domain and external id. Each way of matching is
 * its own index-backed branch (exact id/name/domain, substring — which also
 * covers short CJK names with too few trigrams —, trigram similarity, word
 * similarity), so a lookup touches only the rows that can match; the branches
 * are then scored together. A typo-tolerant second pass with lower trigram
 * thresholds runs only when the first finds nothing convincing.
 */
export async function findCandidates(db: DbOrTrx, rawQuery: string, limit = 10): Promise<Candidate[]> {
  const q = normalizeQuery(rawQuery);
  if (!q) return [];
  const exact = await db
    .selectFrom('customers')
    .select(['id', 'name', 'domain', 'external_id'])
    .where((eb) => eb.or([eb(eb.fn('lower', ['external_id']), '=', q), eb(eb.fn('lower', ['name']), '=', q), eb(eb.fn('lower', ['domain']), '=', q)]))
    .limit(limit)
    .execute();
  if (exact.length === 1) return exact.map((r) => ({ id: r.id, name: r.name, domain: r.domain, externalId: r.external_id, score: 1 }));
  const strict = await candidateQuery(db, q, limit, null);
  if (strict.some((c) => c.score >= 0.5)) return strict;
  const loose = await candidateQuery(db, q, limit, { similarity: 0.2, word: 0.4 });
  const seen = new Set(strict.map((c) => c.id));
  return [...strict, ...loose.filter((c) => !seen.has(c.id))].sort((a, b) => b.score - a.score).slice(0, limit);
}

async function candidateQuery(db: DbOrTrx, q: string, limit: number, thresholds: { similarity: number; word: number } | null): Promise<Candidate[]> {
  const like = likePattern(q);
  const run = async (trx: DbOrTrx) => {
    if (thresholds) {
      await sql`SELECT set_config('pg_trgm.similarity_threshold', ${String(thresholds.similarity)}, true), set_config('pg_trgm.word_similarity_threshold', ${String(thresholds.word)}, true)`.execute(trx);
    }
    const rows = await sql<{ id: string; name: string; domain: string | null; external_id: string; score: number }>`
      WITH hits AS (
        SELECT id FROM customers WHERE lower(external_id) = ${q}
        UNION (SELECT id FROM customers WHERE lower(name) LIKE '%' || ${like} || '%' LIMIT 50)
        UNION (SELECT id FROM customers WHERE lower(domain) LIKE ${like} || '%' LIMIT 20)
        UNION (SELECT id FROM customers WHERE lower(name) % ${q} LIMIT 200)
        UNION (SELECT id FROM customers WHERE ${q} <% lower(name) LIMIT 200)
        UNION (SELECT id FROM customers WHERE lower(domain) % ${q} LIMIT 20)
      )
      SELECT c.id::text AS id, c.name, c.domain, c.external_id,
        GREATEST(
          CASE WHEN lower(c.external_id) = ${q} OR lower(c.name) = ${q} OR lower(coalesce(c.domain, '')) = ${q} THEN 1 ELSE 0 END,
          CASE WHEN lower(c.name) LIKE ${like} || '%' THEN 0.9
               WHEN lower(c.name) LIKE '%' || ${like} || '%' THEN 0.8
               WHEN lower(c.domain) LIKE ${like} || '%' THEN 0.8 ELSE 0 END
            * least(1.0, 0.6 + char_length(${q}) / greatest(char_length(c.name), 1)::float),
          similarity(lower(c.name), ${q}),
          word_similarity(${q}, lower(c.name)) * 0.9,
          coalesce(similarity(lower(c.domain), ${q}), 0)
        )::float AS score
      FROM customers c JOIN hits USING (id)
      ORDER BY score DESC, c.name
      LIMIT ${limit}`.execute(trx);
    return rows.rows.map((r) => ({ id: r.id, name: r.name, domain: r.domain, externalId: r.external_id, score: Number(r.score) }));
  };
  // Lowered thresholds apply to this transaction only.
  return thresholds ? db.transaction().execute(run) : run(db);
}

/** Nearest names when nothing plausible matched: plain trigram distance over the whole book. */
export async function nearestNames(db: DbOrTrx, rawQuery: string, limit = 3): Promise<Candidate[]> {
  const q = normalizeQuery(rawQuery);
  if (!q) return [];
  // Anything sharing a few trigrams, through the index; a very low threshold for this transaction only.
  const rows = await db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('pg_trgm.similarity_threshold', '0.1', true)`.execute(trx);
    return sql<{ id: string; name: string; domain: string | null; external_id: string; score: number }>`
      SELECT c.id::text AS id, c.name, c.domain, c.external_id,
        GREATEST(similarity(lower(c.name), ${q}), word_similarity(${q}, lower(c.name)))::float AS score
      FROM customers c
      WHERE lower(c.name) % ${q}
      ORDER BY score DESC, c.name
      LIMIT ${limit}`.execute(trx);
  });
  return rows.rows.filter((r) => Number(r.score) > 0).map((r) => ({ id: r.id, name: r.name, domain: r.domain, externalId: r.external_id, score: Number(r.score) }));
}

export interface CardData {
  id: string;
  externalId: string;
  name: string;
  domain: string | null;
  plan: string | null;
  arr: number | null;
  currency: string | null;
  renewalDate: string | null;
  status: 'active' | 'churned';
  ownerSlackId: string | null;
  ownerSince: Date | null;
  teamName: string | null;
  teamKey: string | null;
  score: null | {
    health: number;
    band: 'green' | 'yellow' | 'red';
    tier: 'A' | 'B' | 'C' | null;
    segment: string | null;
    pAlive: number | null;
    clv: number | null;
    expectedOrders90d: number | null;
    drivers: { key: string; direction: 'down' | 'up'; impact: number; text: string }[];
    measures: { key: string; score: number; weight: number }[];
    stale: string[];
    scoredAt: Date;
    newestDataAt: Date | null;
    previousHealth: number | null;
    /** Calibrated chance of churn within churnHorizonDays, from the health model in use; null without one. */
    churnProbability?: number | null;
    churnHorizonDays?: number | null;
  };
  history: number[];
  lastInteraction: null | { kind: string; note: string; occurredAt: Date; authorSlackId: string };
  latestFeedback: null | { kind: string; text: string; createdAt: Date; authorSlackId: string };
  lastOwnershipEvent: null | { kind: string; fromSlackId: string | null; createdAt: Date };
}

export async function loadCard(db: DbOrTrx, customerId: string, historyPoints = 12): Promise<CardData | null> {
  const row = await db
    .selectFrom('customers as c')
    .leftJoin('members as m', 'm.id', 'c.owner_member_id')
    .leftJoin('teams as t', 't.id', 'c.team_id')
    .leftJoin('customer_scores as s', 's.customer_id', 'c.id')
    .select([
      'c.id', 'c.external_id', 'c.name', 'c.domain', 'c.plan', 'c.arr', 'c.currency', 'c.renewal_date', 'c.status', 'c.owner_since',
      'm.slack_user_id as owner_slack_id', 't.name as team_name', 't.key as team_key',
      's.health', 's.band', 's.tier', 's.rfm_segment', 's.p_alive', 's.clv', 's.expected_orders_90d', 's.drivers', 's.measures',
      's.stale', 's.scored_at', 's.newest_data_at', 's.previous_health', 's.churn_probability', 's.churn_horizon_days',
    ])
    .where('c.id', '=', customerId)
    .executeTakeFirst();
  if (!row) return null;

  const [history, interaction, feedback, ownership] = await Promise.all([
    db
      .selectFrom('score_history')
      .select(['health', 'scored_at'])
      .where('customer_id', '=', customerId)
      .orderBy('scored_at', 'desc')
      .limit(historyPoints)
      .execute(),
    db
      .selectFrom('interactions')
      .select(['kind', 'note', 'occurred_at', 'author_slack_id'])
      .where('customer_id', '=', customerId)
      .orderBy('occurred_at', 'desc')
      .limit(1)
      .executeTakeFirst(),
    db
      .selectFrom('feedback')
      .select(['kind', 'text', 'created_at', 'author_slack_id'])
      .where('customer_id', '=', customerId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst(),
    db
      .selectFrom('ownership_events as e')
      .leftJoin('members as f', 'f.id', 'e.from_member_id')
      .select(['e.kind', 'e.created_at', 'f.slack_user_id as from_slack_id'])
      .where('e.customer_id', '=', customerId)
      .orderBy('e.created_at', 'desc')
      .orderBy('e.id', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);

  return {
    id: row.id,
    externalId: row.external_id,
    name: row.name,
    domain: row.domain,
    plan: row.plan,
    arr: row.arr === null ? null : Number(row.arr),
    currency: row.currency,
    renewalDate: row.renewal_date,
    status: row.status,
    ownerSlackId: row.owner_slack_id,
    ownerSince: row.owner_since ? new Date(row.owner_since) : null,
    teamName: row.team_name,
    teamKey: row.team_key,
    score:
      row.health === null || row.band === null || row.scored_at === null
        ? null
        : {
            health: row.health,
            band: row.band,
            tier: row.tier,
            segment: row.rfm_segment,
            pAlive: row.p_alive,
            clv: row.clv === null ? null : Number(row.clv),
            expectedOrders90d: row.expected_orders_90d,
            drivers: row.drivers ?? [],
            measures: row.measures ?? [],
            stale: row.stale ?? [],
            scoredAt: new Date(row.scored_at),
            newestDataAt: row.newest_data_at ? new Date(row.newest_data_at) : null,
            previousHealth: row.previous_health,
            churnProbability: row.churn_probability,
            churnHorizonDays: row.churn_horizon_days,
          },
    history: history.map((h) => h.health).reverse(),
    lastInteraction: interaction
      ? { kind: interaction.kind, note: interaction.note, occurredAt: new Date(interaction.occurred_at), authorSlackId: interaction.author_slack_id }
      : null,
    latestFeedback: feedback
      ? { kind: feedback.kind, text: feedback.text, createdAt: new Date(feedback.created_at), authorSlackId: feedback.author_slack_id }
      : null,
    lastOwnershipEvent: ownership ? { kind: ownership.kind, fromSlackId: ownership.from_slack_id, createdAt: new Date(ownership.created_at) } : null,
  };
}
