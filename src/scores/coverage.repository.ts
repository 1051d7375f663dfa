import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import { LEGACY_CHANGE_MARGIN_MINUTES } from './population.repository.js';

/**
 * How far one customer's score covers its data (for the lookup card): never
 * scored or not, whether it has data no score has read yet, and whether a
 * scoring run is open right now.
 */
export interface Coverage {
  scored: boolean;
  /** Data the current score has not read (never scored: no run has finished since the last change). */
  pending: boolean;
  runOpen: boolean;
}

export async function coverageOf(db: DbOrTrx, customerId: string): Promise<Coverage | null> {
  const r = await sql<{ scored: boolean; pending: boolean; run_open: boolean }>`
    SELECT s.customer_id IS NOT NULL AS scored,
      CASE
        WHEN s.customer_id IS NULL THEN NOT EXISTS (
          SELECT 1 FROM scoring_runs r
          WHERE r.kind IN ('full', 'incremental') AND r.status <> 'running' AND r.started_at > c.data_changed_at)
        ELSE c.data_changed_at > CASE
          WHEN s.data_seen_at IS NULL THEN s.scored_at - make_interval(mins => ${LEGACY_CHANGE_MARGIN_MINUTES}::int)
          ELSE least(s.data_seen_at, s.scored_at)
        END
      END AS pending,
      EXISTS (
        SELECT 1 FROM scoring_runs r
        WHERE r.kind IN ('full', 'incremental') AND r.status = 'running' AND r.started_at > now() - interval '1 hour') AS run_open
    FROM customers c
    LEFT JOIN customer_scores s ON s.customer_id = c.id
    WHERE c.id = ${customerId}`.execute(db);
  const row = r.rows[0];
  return row ? { scored: row.scored, pending: row.pending, runOpen: row.run_open } : null;
}
