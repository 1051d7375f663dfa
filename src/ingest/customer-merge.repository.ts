import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import type { CustomerMergeRow, RejectionCode } from './api.rules.js';

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
 * ownership_events row (kind 'api', or 'import' for the CSV import). Rows
 * must have distinct external ids. The CSV import and every ingest endpoint
 * share this one statement, so a customer merges the same way from anywhere.
 */
export async function mergeCustomers(
  trx: DbOrTrx,
  rows: readonly CustomerMergeRow[],
  reason: string,
  auditKind: 'api' | 'import' = 'api',
): Promise<MergedCustomer[]> {
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
      SELECT up.id, ${auditKind}, r.prev_owner, up.owner_member_id, ${reason}
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
