import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import { changedCustomers } from './population.repository.js';

/**
 * The figures a person on call reads (`retain status`, /metrics): the last
 * runs, the oldest change no score has read, the outbox backlog and the
 * newest arrival per signal source. Each is one statement; all but the score
 * lag (a pass over customers and their scores) are index probes.
 */

export interface LastRun {
  kind: 'full' | 'incremental';
  id: string;
  status: 'done' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  selected: number | null;
  scored: number;
  batches: number;
  failedBatches: number;
}

/** The newest finished full and incremental runs. */
export async function lastRuns(db: DbOrTrx): Promise<LastRun[]> {
  const r = await sql<{
    kind: 'full' | 'incremental';
    id: string;
    status: 'done' | 'failed';
    started_at: Date;
    finished_at: Date | null;
    selected: string | null;
    customers_scored: number;
    batches_total: number;
    batches_failed: number;
  }>`
    SELECT x.* FROM unnest(ARRAY['full', 'incremental']) AS k(kind)
    CROSS JOIN LATERAL (
      SELECT r.kind, r.id::text AS id, r.status, r.started_at, r.finished_at, r.context->>'selected' AS selected,
        r.customers_scored, r.batches_total, r.batches_failed
      FROM scoring_runs r WHERE r.kind = k.kind AND r.status <> 'running'
      ORDER BY r.started_at DESC LIMIT 1
    ) x`.execute(db);
  return r.rows.map((x) => ({
    kind: x.kind,
    id: x.id,
    status: x.status,
    startedAt: new Date(x.started_at),
    finishedAt: x.finished_at ? new Date(x.finished_at) : null,
    selected: x.selected === null ? null : Number(x.selected),
    scored: x.customers_scored,
    batches: x.batches_total,
    failedBatches: x.batches_failed,
  }));
}

export interface RunActivity {
  open: number;
  oldestOpenAt: Date | null;
  startedSince: { full: number; incremental: number };
}

/** Runs open now, and runs started since `since` by kind. */
export async function runActivity(db: DbOrTrx, since: Date): Promise<RunActivity> {
  const r = await sql<{ open: number; oldest: Date | null; full: number; incremental: number }>`
    SELECT
      count(*) FILTER (WHERE status = 'running')::int AS open,
      min(started_at) FILTER (WHERE status = 'running') AS oldest,
      count(*) FILTER (WHERE kind = 'full' AND started_at >= ${since})::int AS full,
      count(*) FILTER (WHERE kind = 'incremental' AND started_at >= ${since})::int AS incremental
    FROM scoring_runs
    WHERE kind IN ('full', 'incremental') AND (status = 'running' OR started_at >= ${since})`.execute(db);
  const row = r.rows[0]!;
  return { open: row.open, oldestOpenAt: row.oldest ? new Date(row.oldest) : null, startedSince: { full: row.full, incremental: row.incremental } };
}

export interface UnscoredChanges {
  customers: number;
  oldestAt: Date | null;
}

/**
 * Changes no score has read yet: customers whose data moved past their score,
 * and never-scored ones changed since the last finished run began (older
 * never-scored ones were looked at and had nothing to score).
 */
export async function unscoredChanges(db: DbOrTrx): Promise<UnscoredChanges> {
  const r = await sql<{ n: number; oldest: Date | null }>`
    WITH looked AS (
      SELECT coalesce(max(started_at), '-infinity'::timestamptz) AS at FROM scoring_runs
      WHERE kind IN ('full', 'incremental') AND status <> 'running'
    )
    SELECT count(*)::int AS n, min(x.data_changed_at) AS oldest
    FROM (${changedCustomers()}) x, looked
    WHERE NOT x.never_scored OR x.data_changed_at >= looked.at`.execute(db);
  const row = r.rows[0]!;
  return { customers: row.n, oldestAt: row.oldest ? new Date(row.oldest) : null };
}

export interface OutboxBacklog {
  waiting: number;
  oldestWaitingAt: Date | null;
  failed: number;
}

export async function outboxBacklog(db: DbOrTrx): Promise<OutboxBacklog> {
  const r = await sql<{ waiting: number; oldest: Date | null; failed: number }>`
    SELECT
      count(*) FILTER (WHERE status IN ('pending', 'sending'))::int AS waiting,
      min(created_at) FILTER (WHERE status IN ('pending', 'sending')) AS oldest,
      count(*) FILTER (WHERE status = 'failed')::int AS failed
    FROM notifications WHERE status <> 'sent'`.execute(db);
  const row = r.rows[0]!;
  return { waiting: row.waiting, oldestWaitingAt: row.oldest ? new Date(row.oldest) : null, failed: row.failed };
}

export interface SourceArrival {
  source: string;
  newestAt: Date;
}

/**
 * The newest arrival per signal source (csv, api, segment, stripe…): a skip
 * over the (source, ingested_at) index, one probe per source; plus feedback
 * and logged touches from Slack.
 */
export async function newestPerSource(db: DbOrTrx): Promise<SourceArrival[]> {
  const r = await sql<{ source: string; newest: Date | null }>`
    WITH RECURSIVE src(source) AS (
      (SELECT source FROM signals ORDER BY source LIMIT 1)
      UNION ALL
      SELECT (SELECT s.source FROM signals s WHERE s.source > src.source ORDER BY s.source LIMIT 1)
      FROM src WHERE src.source IS NOT NULL
    )
    SELECT source, (SELECT max(s.ingested_at) FROM signals s WHERE s.source = src.source) AS newest
    FROM src WHERE source IS NOT NULL
    UNION ALL SELECT 'slack feedback', (SELECT max(created_at) FROM feedback)
    UNION ALL SELECT 'slack touches', (SELECT max(created_at) FROM interactions)`.execute(db);
  return r.rows.filter((x) => x.newest !== null).map((x) => ({ source: x.source, newestAt: new Date(x.newest!) }));
}
