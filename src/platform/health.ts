import { sql } from 'kysely';
import type { Redis } from 'ioredis';
import type { Db } from './db.js';

export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; ms: number; error?: string }>;
}

async function timed(run: () => Promise<unknown>, timeoutMs: number): Promise<{ ok: boolean; ms: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([run(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref())]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (e) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (e as { code?: string }).code ?? (e as Error).message };
  }
}

/** GET /healthz: each dependency checked, with its latency. */
export async function checkHealth(db: Db, redis: Redis | null, timeoutMs = 2_000): Promise<HealthReport> {
  const [postgres, redisCheck] = await Promise.all([
    timed(() => sql`SELECT 1`.execute(db), timeoutMs),
    redis ? timed(() => redis.ping(), timeoutMs) : Promise.resolve({ ok: false, ms: 0, error: 'not configured' }),
  ]);
  return { ok: postgres.ok && redisCheck.ok, checks: { postgres, redis: redisCheck } };
}
