import { sql, type RawBuilder } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { Candidate, CandidateKind, CustomerMergeRow, RejectionCode } from './api.rules.js';
import type { SignalKind } from './signal.table.js';

/**
 * The ingest API's queries: one set-based statement per batch (arrays passed
 * through unnest), never a query per item. Every function takes the
 * transaction first.
 */

export interface SignalToStore {
  index: number;
  kind: SignalKind;
  occurredAt: string;
  value: string | null;
  externalId: string | null;
  dedupeKey: string;
}

export interface StoredSignals {
  /** Items whose customer does not exist (external-id form only). */
  unknownIndexes: number[];
  /** New signals per kind; the other matched items were already held. */
  insertedByKind: Record<string, number>;
  inserted: number;
}

type StoredRow = { unknown: number[] | null; inserted: Record<string, number> | null };

function storedOf(row: StoredRow | undefined): StoredSignals {
  const insertedByKind = row?.inserted ?? {};
  return {
    unknownIndexes: row?.unknown ?? [],
    insertedByKind,
    inserted: Object.values(insertedByKind).reduce((a, b) => a + Number(b), 0),
  };
}

// Customers that got new signals have data_changed_at bumped: the incremental
// rescore picks them up. Rows are locked in id order so two batches touching
// the same customers never deadlock. clock_timestamp(), not now(): the
// transaction may have started before a rescore that must not miss it.
function insertMatchedAndBump(source: string): RawBuilder<unknown> {
  return sql`
    ins AS (
      INSERT INTO signals (customer_id, kind, occurred_at, value, external_id, dedupe_key, source)
      SELECT customer_id, kind, occurred_at, value, external_id, dedupe_key, ${source} FROM matched
      -- One key order for every batch: two batches holding the same new keys wait, never deadlock.
      ORDER BY customer_id, kind, occurred_at, dedupe_key
      ON CONFLICT (customer_id, kind, occurred_at, dedupe_key) DO NOTHING
      RETURNING customer_id, kind
    ), touched AS (
      UPDATE customers c SET data_changed_at = clock_timestamp()
      FROM (SELECT id FROM customers WHERE id IN (SELECT customer_id FROM ins) ORDER BY id FOR UPDATE) l
      WHERE c.id = l.id
    )`;
}

const insertedByKind = sql`coalesce((SELECT jsonb_object_agg(kind, n) FROM (SELECT kind, count(*)::int AS n FROM ins GROUP BY kind) k), '{}'::jsonb) AS inserted`;

function signalArrays(rows: readonly SignalToStore[]) {
  return sql`${rows.map((r) => r.index)}::int[], ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.occurredAt)}::timestamptz[],
    ${rows.map((r) => r.value)}::numeric[], ${rows.map((r) => r.externalId)}::text[], ${rows.map((r) => r.dedupeKey)}::text[]`;
}

/** Store signals addressed by the customer's external id (the events API); unknown customers come back by index. */
export async function insertSignalsByExternalId(
  trx: DbOrTrx,
  rows: readonly (SignalToStore & { customerExternalId: string })[],
  source: string,
): Promise<StoredSignals> {
  if (rows.length === 0) return storedOf(undefined);
  const { rows: out } = await sql<StoredRow>`
    WITH input AS (
      SELECT * FROM unnest(${signalArrays(rows)}, ${rows.map((r) => r.customerExternalId)}::text[])
        AS t(idx, kind, occurred_at, value, external_id, dedupe_key, customer_external_id)
    ), matched AS (
      SELECT i.*, cu.id AS customer_id FROM input i JOIN customers cu ON cu.external_id = i.customer_external_id
    ), ${insertMatchedAndBump(source)}
    SELECT (SELECT array_agg(i.idx ORDER BY i.idx) FROM input i WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.idx = i.idx)) AS unknown,
           ${insertedByKind}`.execute(trx);
  return storedOf(out[0]);
}

/** Store signals for customers already resolved to their id (Segment, Stripe). */
export async function insertSignalsByCustomerId(trx: DbOrTrx, rows: readonly (SignalToStore & { customerId: string })[], source: string): Promise<StoredSignals> {
  if (rows.length === 0) return storedOf(undefined);
  const { rows: out } = await sql<StoredRow>`
    WITH matched AS (
      SELECT * FROM unnest(${signalArrays(rows)}, ${rows.map((r) => r.customerId)}::bigint[])
        AS t(idx, kind, occurred_at, value, external_id, dedupe_key, customer_id)
    ), ${insertMatchedAndBump(source)}
    SELECT NULL::int[] AS unknown, ${insertedByKind}`.execute(trx);
  return storedOf(out[0]);
}

// ───────────────────────── customers ─────────────────────────

export type MergeOutcome = 'inserted' | 'updated' | 'unchanged' | 'rejected';
export interface MergedCustomer {
  index: number;
  externalId: string;
  customerId: string | null;
  outcome: MergeOutcome;
  problem: Extract<RejectionCode, 'unknown_team' | 'unknown_owner' | 'cannot_create'> | null;
  teamKey: string | null;
  ownerSlackId: string | null;
}

/**
 * Upsert customers with the CSV import's semantics: a missing value is
 * unknown and never erases one we hold; owner and team are resolved by Slack
 * id and team key (unknown → rejected); an owner change writes an
 * ownership_events row (kind 'api'). Rows must have distinct external ids.
 */
export async function mergeCustomers(trx: DbOrTrx, rows: readonly CustomerMergeRow[], reason: string): Promise<MergedCustomer[]> {
  if (rows.length === 0) return [];
  const { rows: out } = await sql<{
    idx: number;
    external_id: string;
    customer_id: string | null;
    outcome: MergeOutcome;
    problem: MergedCustomer['problem'];
    team_key: string | null;
    owner_slack_id: string | null;
  }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${rows.map((r) => r.index)}::int[], ${rows.map((r) => r.externalId)}::text[], ${rows.map((r) => r.name)}::text[],
        ${rows.map((r) => r.domain)}::text[], ${rows.map((r) => r.plan)}::text[], ${rows.map((r) => r.arr)}::numeric[],
        ${rows.map((r) => r.currency)}::text[], ${rows.map((r) => r.renewalDate)}::date[], ${rows.map((r) => r.ownerSlackId)}::text[],
        ${rows.map((r) => r.team)}::text[]
      ) AS t(idx, external_id, name, domain, plan, arr, currency, renewal_date, owner_slack_id, team_key)
    ), resolved AS (
      SELECT i.*, tm.id AS team_ref, m.id AS owner_id, m.team_id AS owner_team_id,
             e.id AS existing_id, e.name AS existing_name, e.owner_member_id AS prev_owner,
             CASE
               WHEN i.team_key IS NOT NULL AND tm.id IS NULL THEN 'unknown_team'
               WHEN i.owner_slack_id IS NOT NULL AND m.id IS NULL THEN 'unknown_owner'
               WHEN i.name IS NULL AND e.id IS NULL THEN 'cannot_create'
             END AS problem
      FROM input i
      LEFT JOIN LATERAL (SELECT id FROM teams WHERE lower(key) = lower(i.team_key) ORDER BY id LIMIT 1) tm ON true
      LEFT JOIN members m ON m.slack_user_id = i.owner_slack_id
      LEFT JOIN customers e ON e.external_id = i.external_id
    ), up AS (
      INSERT INTO customers AS c (external_id, name, domain, plan, arr, currency, renewal_date, owner_member_id, owner_since, team_id)
      SELECT external_id, coalesce(name, existing_name), domain, plan, arr, currency, renewal_date, owner_id,
             CASE WHEN owner_id IS NOT NULL THEN now() END, coalesce(team_ref, owner_team_id)
      FROM resolved WHERE problem IS NULL
      ORDER BY external_id -- one lock order for concurrent batches (no deadlock)
      ON CONFLICT (external_id) DO UPDATE SET
        name = EXCLUDED.name,
        domain = coalesce(EXCLUDED.domain, c.domain),
        plan = coalesce(EXCLUDED.plan, c.plan),
        arr = coalesce(EXCLUDED.arr, c.arr),
        currency = coalesce(EXCLUDED.currency, c.currency),
        renewal_date = coalesce(EXCLUDED.renewal_date, c.renewal_date),
        owner_member_id = coalesce(EXCLUDED.owner_member_id, c.owner_member_id),
        owner_since = CASE WHEN EXCLUDED.owner_member_id IS NOT NULL AND EXCLUDED.owner_member_id IS DISTINCT FROM c.owner_member_id THEN now() ELSE c.owner_since END,
        team_id = coalesce(EXCLUDED.team_id, c.team_id),
        data_changed_at = clock_timestamp(),
        updated_at = now()
      WHERE (c.name, c.domain, c.plan, c.arr, c.currency, c.renewal_date, c.owner_member_id, c.team_id)
        IS DISTINCT FROM
            (EXCLUDED.name, coalesce(EXCLUDED.domain, c.domain), coalesce(EXCLUDED.plan, c.plan), coalesce(EXCLUDED.arr, c.arr),
             coalesce(EXCLUDED.currency, c.currency), coalesce(EXCLUDED.renewal_date, c.renewal_date),
             coalesce(EXCLUDED.owner_member_id, c.owner_member_id), coalesce(EXCLUDED.team_id, c.team_id))
      RETURNING c.id, c.external_id, c.owner_member_id, (xmax = 0) AS inserted
    ), audit AS (
      INSERT INTO ownership_events (customer_id, kind, from_member_id, to_member_id, reason)
      SELECT up.id, 'api', r.prev_owner, up.owner_member_id, ${reason}
      FROM up JOIN resolved r ON r.external_id = up.external_id
      WHERE up.owner_member_id IS DISTINCT FROM r.prev_owner
    )
    SELECT r.idx, r.external_id, coalesce(up.id, r.existing_id)::text AS customer_id, r.problem, r.team_key, r.owner_slack_id,
           CASE WHEN r.problem IS NOT NULL THEN 'rejected' WHEN up.id IS NULL THEN 'unchanged' WHEN up.inserted THEN 'inserted' ELSE 'updated' END AS outcome
    FROM resolved r LEFT JOIN up ON up.external_id = r.external_id
    ORDER BY r.idx`.execute(trx);
  return out.map((r) => ({
    index: r.idx,
    externalId: r.external_id,
    customerId: r.customer_id,
    outcome: r.outcome,
    problem: r.problem,
    teamKey: r.team_key,
    ownerSlackId: r.owner_slack_id,
  }));
}

// ───────────────────────── matching ─────────────────────────

/**
 * Resolve each item to a customer: the best-ranked candidate that names
 * exactly one customer wins (a domain shared by two customers matches none).
 * Returns item index → { customer id, the winning candidate's kind }.
 */
export async function resolveCandidates(trx: DbOrTrx, candidates: readonly Candidate[]): Promise<Map<number, { customerId: string; kind: CandidateKind }>> {
  const found = new Map<number, { customerId: string; kind: CandidateKind }>();
  if (candidates.length === 0) return found;
  const { rows } = await sql<{ idx: number; customer_id: string; kind: CandidateKind }>`
    WITH cand AS (
      SELECT * FROM unnest(${candidates.map((c) => c.index)}::int[], ${candidates.map((c) => c.rank)}::int[],
                           ${candidates.map((c) => c.kind)}::text[], ${candidates.map((c) => c.value)}::text[]) AS t(idx, rank, kind, value)
    ), hits AS (
      SELECT c.idx, c.rank, c.kind, cu.id AS customer_id
      FROM cand c JOIN customers cu ON c.kind = 'external_id' AND cu.external_id = c.value
      UNION ALL
      SELECT c.idx, c.rank, c.kind, d.customer_id
      FROM cand c CROSS JOIN LATERAL (
        SELECT min(cu.id) AS customer_id FROM customers cu
        WHERE c.kind IN ('domain', 'email_domain') AND lower(cu.domain) = c.value
        HAVING count(*) = 1
      ) d
      UNION ALL
      SELECT c.idx, c.rank, c.kind, s.customer_id
      FROM cand c JOIN segment_users s ON c.kind = 'segment_user' AND s.user_id = c.value
      UNION ALL
      SELECT c.idx, c.rank, c.kind, s.customer_id
      FROM cand c JOIN stripe_customers s ON c.kind = 'stripe_customer' AND s.stripe_customer_id = c.value
    )
    SELECT DISTINCT ON (idx) idx, customer_id::text AS customer_id, kind FROM hits ORDER BY idx, rank`.execute(trx);
  for (const r of rows) found.set(r.idx, { customerId: r.customer_id, kind: r.kind });
  return found;
}

/** Remember which customer Segment users belong to (the last link of a user in the list wins); returns the users whose link is new or changed. */
export async function linkSegmentUsers(trx: DbOrTrx, links: readonly { userId: string; customerId: string }[]): Promise<Set<string>> {
  if (links.length === 0) return new Set();
  const last = new Map(links.map((l) => [l.userId, l.customerId]));
  const { rows } = await sql<{ user_id: string }>`
    INSERT INTO segment_users AS s (user_id, customer_id)
    SELECT * FROM unnest(${[...last.keys()]}::text[], ${[...last.values()]}::bigint[]) AS t(user_id, customer_id) ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, updated_at = now()
    WHERE s.customer_id IS DISTINCT FROM EXCLUDED.customer_id
    RETURNING s.user_id`.execute(trx);
  return new Set(rows.map((r) => r.user_id));
}

/** Short statement timeout for this transaction: a stuck batch fails (503) instead of piling up. */
export async function limitStatementTime(trx: DbOrTrx, ms: number): Promise<void> {
  await sql`SELECT set_config('statement_timeout', ${String(Math.trunc(ms))}, true)`.execute(trx);
}
