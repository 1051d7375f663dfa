import { sql } from 'kysely';
import type { RedisClient } from './redis.js';
import type { Db } from './db.js';

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface HealthReport {
  ok: boolean;
  /** 'ok'; 'degraded' (a non-critical check failing: Slack away — retain still ingests and scores); 'failing' (503). */
  status: 'ok' | 'degraded' | 'failing';
  checks: Record<string, CheckResult>;
}

/**
 * A check beyond Postgres and Redis. Critical ones turn /healthz into 503
 * (the process cannot do its work: restarting or rerouting may help);
 * the others are reported without it (Slack away: restarting retain would
 * not bring it back, and ingest still works).
 */
export interface ExtraCheck {
  name: string;
  critical: boolean;
  run(): Promise<{ ok: boolean; error?: string }> | { ok: boolean; error?: string };
}

async function timed(run: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  try {
    const out = (await Promise.race([run(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref())])) as
      | { ok?: boolean; error?: string }
      | undefined;
    const ms = Math.round(performance.now() - started);
    if (out && typeof out === 'object' && out.ok === false) return { ok: false, ms, ...(out.error ? { error: out.error } : {}) };
    return { ok: true, ms };
  } catch (e) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (e as { code?: string }).code ?? (e as Error).message };
  }
}

/** GET /healthz: each dependency checked, with its latency. */
export async function checkHealth(db: Db, redis: RedisClient | null, timeoutMs = 2_000, extra: readonly ExtraCheck[] = []): Promise<HealthReport> {
  const [postgres, redisCheck, ...others] = await Promise.all([
    timed(() => sql`SELECT 1`.execute(db), timeoutMs),
    redis ? timed(() => redis.ping(), timeoutMs) : Promise.resolve({ ok: false, ms: 0, error: 'not configured' }),
    ...extra.map((c) => timed(async () => c.run(), timeoutMs)),
  ]);
  const checks: Record<string, CheckResult> = { postgres: postgres!, redis: redisCheck! };
  extra.forEach((c, i) => (checks[c.name] = others[i]!));
  const ok = postgres!.ok && redisCheck!.ok && extra.every((c, i) => !c.critical || others[i]!.ok);
  const degraded = extra.some((c, i) => !c.critical && !others[i]!.ok);
  return { ok, status: !ok ? 'failing' : degraded ? 'degraded' : 'ok', checks };
}
