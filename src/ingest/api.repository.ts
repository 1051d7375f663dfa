import { sql, type RawBuilder } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { Candidate, CandidateKind } from './api.rules.js';
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
export function insertMatchedAndBump(source: string): RawBuilder<unknown> {
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
export async function insertSignalsByCustomerId(
  trx: DbOrTrx,
  rows: readonly (SignalToStore & { customerId: string })[],
  source: string,
): Promise<StoredSignals> {
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

export { mergeCustomers, type MergedCustomer, type MergeOutcome } from './customer-merge.repository.js';

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
