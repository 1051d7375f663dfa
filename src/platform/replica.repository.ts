import { sql } from 'kysely';
import type pg from 'pg';
import type { Db } from './db.js';

/** A WAL position ('16/B374D848') as one 64-bit number, so positions compare as numbers. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** The primary's WAL written so far: a commit that returned is at or before it. */
export async function currentWalLsn(db: Db): Promise<bigint> {
  const { rows } = await sql<{ lsn: string }>`SELECT pg_current_wal_lsn()::text AS lsn`.execute(db);
  return parseLsn(rows[0]!.lsn);
}

/** The same, on a pool and bounded by `timeoutMs` (the replica monitor's probe). */
export async function primaryWalLsn(pool: pg.Pool, timeoutMs: number): Promise<bigint> {
  const { rows } = await pool.query<{ lsn: string }>({ text: 'SELECT pg_current_wal_lsn()::text AS lsn', query_timeout: timeoutMs } as pg.QueryConfig);
  return parseLsn(rows[0]!.lsn);
}

/** How far a standby has replayed; null when the server is not a standby (not in recovery). */
export async function replayedWalLsn(pool: pg.Pool, timeoutMs: number): Promise<bigint | null> {
  const { rows } = await pool.query<{ lsn: string | null }>({
    text: 'SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS lsn',
    query_timeout: timeoutMs,
  } as pg.QueryConfig);
  return rows[0]?.lsn ? parseLsn(rows[0].lsn) : null;
}
