import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import { searchGrams, searchText } from '../customers/lookup.rules.js';
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
 * unknown and never erases one we hold; a churn date marks the customer churned; owner and team are resolved by Slack
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
  const searchNames = rows.map((r) => (r.name === null ? null : searchText(r.name)));
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
        ${rows.map((r) => r.team)}::text[], ${searchNames}::text[], ${searchNames.map((n) => (n === null ? null : searchGrams(n)))}::text[],
        ${rows.map((r) => r.startedAt)}::timestamptz[], ${rows.map((r) => r.churnedAt)}::timestamptz[]
      ) AS t(idx, external_id, name, domain, plan, arr, currency, renewal_date, owner_slack_id, team_key, search_name, search_grams, started_at, churned_at)
    ), resolved AS (
      SELECT i.*, tm.id AS team_ref, m.id AS owner_id, m.team_id AS owner_team_id,
             e.id AS existing_id, e.name AS existing_name, e.search_name AS existing_search_name, e.search_grams AS existing_search_grams,
             e.owner_member_id AS prev_owner,
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
      INSERT INTO customers AS c (external_id, name, search_name, search_grams, domain, plan, arr, currency, renewal_date, owner_member_id, owner_since, team_id,
                                  started_at, churned_at, status)
      SELECT external_id, coalesce(name, existing_name), coalesce(search_name, existing_search_name),
             CASE WHEN name IS NULL THEN existing_search_grams ELSE search_grams END,
             domain, plan, arr, currency, renewal_date, owner_id,
             CASE WHEN owner_id IS NOT NULL THEN now() END, coalesce(team_ref, owner_team_id),
             started_at, churned_at, CASE WHEN churned_at IS NOT NULL THEN 'churned' ELSE 'active' END
      FROM resolved WHERE problem IS NULL
      ORDER BY external_id -- one lock order for concurrent batches (no deadlock)
      ON CONFLICT (external_id) DO UPDATE SET
        name = EXCLUDED.name,
        search_name = EXCLUDED.search_name,
        search_grams = EXCLUDED.search_grams,
        domain = coalesce(EXCLUDED.domain, c.domain),
        plan = coalesce(EXCLUDED.plan, c.plan),
        arr = coalesce(EXCLUDED.arr, c.arr),
        currency = coalesce(EXCLUDED.currency, c.currency),
        renewal_date = coalesce(EXCLUDED.renewal_date, c.renewal_date),
        owner_member_id = coalesce(EXCLUDED.owner_member_id, c.owner_member_id),
        owner_since = CASE WHEN EXCLUDED.owner_member_id IS NOT NULL AND EXCLUDED.owner_member_id IS DISTINCT FROM c.owner_member_id THEN now() ELSE c.owner_since END,
        team_id = coalesce(EXCLUDED.team_id, c.team_id),
        started_at = coalesce(EXCLUDED.started_at, c.started_at),
        churned_at = coalesce(EXCLUDED.churned_at, c.churned_at),
        status = CASE WHEN EXCLUDED.churned_at IS NOT NULL THEN 'churned' ELSE c.status END,
        data_changed_at = clock_timestamp(),
        updated_at = now()
      WHERE (c.name, c.domain, c.plan, c.arr, c.currency, c.renewal_date, c.owner_member_id, c.team_id, c.started_at, c.churned_at, c.status)
        IS DISTINCT FROM
            (EXCLUDED.name, coalesce(EXCLUDED.domain, c.domain), coalesce(EXCLUDED.plan, c.plan), coalesce(EXCLUDED.arr, c.arr),
             coalesce(EXCLUDED.currency, c.currency), coalesce(EXCLUDED.renewal_date, c.renewal_date),
             coalesce(EXCLUDED.owner_member_id, c.owner_member_id), coalesce(EXCLUDED.team_id, c.team_id),
             coalesce(EXCLUDED.started_at, c.started_at), coalesce(EXCLUDED.churned_at, c.churned_at),
             CASE WHEN EXCLUDED.churned_at IS NOT NULL THEN 'churned' ELSE c.status END)
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

// ───────────────────────── bulk: a staged file ─────────────────────────

/** Columns of the staging table, in COPY order. */
export const CUSTOMER_STAGE_COLUMNS = [
  'line',
  'external_id',
  'name',
  'search_name',
  'search_grams',
  'domain',
  'plan',
  'arr',
  'currency',
  'renewal_date',
  'owner_slack_id',
  'team_key',
  'started_at',
  'churned_at',
] as const;

/** A temporary staging table for one bulk load, dropped at commit. */
export async function createCustomerStage(trx: DbOrTrx): Promise<void> {
  await sql`
    CREATE TEMP TABLE stage_customers (
      line integer NOT NULL, external_id text COLLATE "C" NOT NULL, name text NOT NULL,
      search_name text COLLATE "C" NOT NULL, search_grams text, domain text, plan text, arr numeric(14, 2),
      currency text, renewal_date date, owner_slack_id text, team_key text, started_at timestamptz, churned_at timestamptz
    ) ON COMMIT DROP`.execute(trx);
}

/**
 * Keep only the last row of each external id staged more than once (the later
 * row wins, as in a spreadsheet); returns each repeated id with its lines.
 */
export async function dropEarlierStagedDuplicates(trx: DbOrTrx): Promise<{ externalId: string; lines: number[] }[]> {
  const { rows } = await sql<{ external_id: string; lines: number[] }>`
    WITH repeated AS (
      SELECT external_id, array_agg(line ORDER BY line) AS lines FROM stage_customers GROUP BY external_id HAVING count(*) > 1
    ), dropped AS (
      DELETE FROM stage_customers s USING repeated r
      WHERE s.external_id = r.external_id AND s.line <> r.lines[cardinality(r.lines)]
    )
    SELECT external_id, lines FROM repeated`.execute(trx);
  return rows.map((r) => ({ externalId: r.external_id, lines: r.lines }));
}

/** Team keys (lower case) and members' Slack ids: a load checks each row against them before staging it. */
export async function knownTeamsAndMembers(trx: DbOrTrx): Promise<{ teamKeys: Set<string>; memberSlackIds: Set<string> }> {
  const teams = await trx.selectFrom('teams').select('key').execute();
  const members = await trx.selectFrom('members').select('slack_user_id').execute();
  return { teamKeys: new Set(teams.map((t) => t.key.toLowerCase())), memberSlackIds: new Set(members.map((m) => m.slack_user_id)) };
}

export interface StagedMerge {
  /** Rows merged (after duplicates and unresolved rows were dropped). */
  staged: number;
  inserted: number;
  updated: number;
  /** New external ids another writer inserted meanwhile: not applied by this pass. */
  raced: number;
}

/**
 * Merge the staged rows with the semantics of `mergeCustomers`, as one
 * set-based statement: an empty cell never erases a value we hold; a row is
 * rewritten only when a value differs; an owner change writes an ownership
 * event of kind `auditKind`; new customers are inserted in external id order
 * (one lock order for concurrent writers). Unchanged rows are only read.
 */
export async function mergeStagedCustomers(trx: DbOrTrx, reason: string, auditKind: 'api' | 'import' = 'import'): Promise<StagedMerge> {
  const { rows } = await sql<{ staged: string; inserted: string; updated: string; fresh: string }>`
    WITH resolved AS (
      SELECT s.external_id, s.name, s.search_name, s.search_grams, s.domain, s.plan, s.arr, s.currency, s.renewal_date,
             s.started_at, s.churned_at, CASE WHEN s.churned_at IS NOT NULL THEN 'churned' END AS churned_status,
             m.id AS owner_id, coalesce(tm.id, m.team_id) AS team_ref
      FROM stage_customers s
      LEFT JOIN (SELECT DISTINCT ON (lower(key)) lower(key) AS k, id FROM teams ORDER BY lower(key), id) tm ON tm.k = lower(s.team_key)
      LEFT JOIN members m ON m.slack_user_id = s.owner_slack_id
    ), src AS MATERIALIZED (
      -- Whether a row changes anything is decided here, in the one pass over the book, so the update
      -- below touches only the rows that change.
      SELECT r.*, c.id AS existing_id, c.owner_member_id AS prev_owner,
             c.id IS NOT NULL AND (c.name, c.domain, c.plan, c.arr, c.currency, c.renewal_date, c.owner_member_id, c.team_id, c.started_at, c.churned_at, c.status)
               IS DISTINCT FROM
                 (r.name, coalesce(r.domain, c.domain), coalesce(r.plan, c.plan), coalesce(r.arr, c.arr), coalesce(r.currency, c.currency),
                  coalesce(r.renewal_date, c.renewal_date), coalesce(r.owner_id, c.owner_member_id), coalesce(r.team_ref, c.team_id),
                  coalesce(r.started_at, c.started_at), coalesce(r.churned_at, c.churned_at), coalesce(r.churned_status, c.status)) AS changed
      FROM resolved r LEFT JOIN customers c ON c.external_id = r.external_id
    ), upd AS (
      UPDATE customers c SET
        name = s.name,
        search_name = s.search_name,
        search_grams = s.search_grams,
        domain = coalesce(s.domain, c.domain),
        plan = coalesce(s.plan, c.plan),
        arr = coalesce(s.arr, c.arr),
        currency = coalesce(s.currency, c.currency),
        renewal_date = coalesce(s.renewal_date, c.renewal_date),
        owner_member_id = coalesce(s.owner_id, c.owner_member_id),
        owner_since = CASE WHEN s.owner_id IS NOT NULL AND s.owner_id IS DISTINCT FROM c.owner_member_id THEN now() ELSE c.owner_since END,
        team_id = coalesce(s.team_ref, c.team_id),
        started_at = coalesce(s.started_at, c.started_at),
        churned_at = coalesce(s.churned_at, c.churned_at),
        status = coalesce(s.churned_status, c.status),
        data_changed_at = clock_timestamp(),
        updated_at = now()
      FROM (SELECT * FROM src WHERE changed) s
      WHERE c.id = s.existing_id
        -- again, against the row as this statement found it (another writer may have changed it meanwhile)
        AND (c.name, c.domain, c.plan, c.arr, c.currency, c.renewal_date, c.owner_member_id, c.team_id, c.started_at, c.churned_at, c.status)
          IS DISTINCT FROM
            (s.name, coalesce(s.domain, c.domain), coalesce(s.plan, c.plan), coalesce(s.arr, c.arr), coalesce(s.currency, c.currency),
             coalesce(s.renewal_date, c.renewal_date), coalesce(s.owner_id, c.owner_member_id), coalesce(s.team_ref, c.team_id),
             coalesce(s.started_at, c.started_at), coalesce(s.churned_at, c.churned_at), coalesce(s.churned_status, c.status))
      RETURNING c.id, c.owner_member_id, s.prev_owner
    ), ins AS (
      INSERT INTO customers (external_id, name, search_name, search_grams, domain, plan, arr, currency, renewal_date, owner_member_id, owner_since, team_id,
                             started_at, churned_at, status)
      SELECT external_id, name, search_name, search_grams, domain, plan, arr, currency, renewal_date, owner_id,
             CASE WHEN owner_id IS NOT NULL THEN now() END, team_ref, started_at, churned_at, coalesce(churned_status, 'active')
      FROM src WHERE existing_id IS NULL
      ORDER BY external_id
      ON CONFLICT (external_id) DO NOTHING
      RETURNING id, owner_member_id
    ), audit AS (
      INSERT INTO ownership_events (customer_id, kind, from_member_id, to_member_id, reason)
      SELECT id, ${auditKind}, prev_owner, owner_member_id, ${reason} FROM upd WHERE owner_member_id IS DISTINCT FROM prev_owner
      UNION ALL
      SELECT id, ${auditKind}, NULL, owner_member_id, ${reason} FROM ins WHERE owner_member_id IS NOT NULL
    )
    SELECT (SELECT count(*) FROM src) AS staged, (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM upd) AS updated,
           (SELECT count(*) FROM src WHERE existing_id IS NULL) AS fresh`.execute(trx);
  const r = rows[0]!;
  return { staged: Number(r.staged), inserted: Number(r.inserted), updated: Number(r.updated), raced: Number(r.fresh) - Number(r.inserted) };
}

/**
 * For an initial load holding the table exclusively: the vocabulary trigger
 * would copy every inserted row into a transition table to find their words;
 * switched off for the merge, the words are added straight from the stage.
 */
export async function setVocabularyTrigger(trx: DbOrTrx, enabled: boolean): Promise<void> {
  await sql.raw(`ALTER TABLE customers ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER customers_words_insert`).execute(trx);
}

export async function addStagedWords(trx: DbOrTrx): Promise<void> {
  await sql`
    INSERT INTO customer_words (word)
    SELECT DISTINCT w FROM stage_customers, unnest(string_to_array(search_name, ' ')) AS w WHERE w <> '' ORDER BY 1
    ON CONFLICT DO NOTHING`.execute(trx);
}
