import { randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logger.js';
import { masterFor, type RedisClient } from '../platform/redis.js';

/**
 * Notices when Redis lost what retain keeps there — the job schedulers and
 * every queued job — and puts it back from Postgres without a restart.
 *
 * A worker leaves a marker key once it has registered the schedules; a
 * Redis that restarted empty, or was flushed, no longer has it. A Redis
 * that restarted with its data has a new run id: locks may have lapsed
 * meanwhile, so the same (idempotent) restore runs then too. One worker
 * restores at a time (a lock with an expiry); the marker is written last, so
 * a restore cut short is tried again at the next check.
 *
 * On a Redis Cluster every key retain makes is in the slot of its prefix's
 * hash tag, so "Redis" here is the master that owns that slot: its run id
 * is watched, and a failover to a replica (a new run id, perhaps without the
 * last writes) restores the same way as a restart.
 */
export const restoredMarker = (prefix: string) => `${prefix}:restored`;
const restoreLock = (prefix: string) => `${prefix}:restoring`;

export interface RedisWatchState {
  /** Since when the marker has been found missing (restore pending or failing). */
  lostSince: Date | null;
  lastRestoreAt: Date | null;
  lastError: string | null;
}

/**
 * Why a restore runs: 'start' (a worker starting: its schedules, which may
 * have changed), 'lost' (the marker is gone: schedules and every queued job),
 * 'restarted' (Redis came back with its data: the same, idempotently).
 */
export type RestoreReason = 'start' | 'lost' | 'restarted';

export interface RedisWatch {
  /** Check now (and restore when needed; `starting`: at least the schedules); resolves to whether a restore ran. */
  check(opts?: { starting?: boolean }): Promise<boolean>;
  state(): RedisWatchState;
  start(): void;
  stop(): Promise<void>;
}

function runIdOf(info: string): string | null {
  return /^run_id:(\S+)/m.exec(info)?.[1] ?? null;
}

export function createRedisWatch(o: {
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  intervalMs: number;
  restore: (reason: RestoreReason) => Promise<void>;
}): RedisWatch {
  const state: RedisWatchState = { lostSince: null, lastRestoreAt: null, lastError: null };
  let runId: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let stopped = false;
  /** A restore that could not run (Redis away, another worker restoring): tried again at the next check. */
  let pending: RestoreReason | null = null;

  const restoreNow = async (reason: RestoreReason, starting: boolean): Promise<boolean> => {
    const token = randomUUID();
    // Long enough for a restore; released at once when done.
    const got = await o.redis.set(restoreLock(o.prefix), token, 'PX', 60_000, 'NX');
    if (got !== 'OK') {
      pending = reason;
      return false;
    }
    try {
      // At start a missing marker is also simply a new Redis (or prefix).
      if (reason !== 'start' && !starting) o.logger.warn({ reason }, 'Redis lost retain’s queues: restoring schedules and queued work from Postgres');
      pending = reason;
      await o.restore(reason);
      await o.redis.set(restoredMarker(o.prefix), new Date().toISOString());
      pending = null;
      state.lostSince = null;
      state.lastRestoreAt = new Date();
      state.lastError = null;
      if (reason !== 'start') o.logger.info({ reason }, 'schedules and queued work restored from Postgres');
      return true;
    } finally {
      if ((await o.redis.get(restoreLock(o.prefix)).catch(() => null)) === token) await o.redis.del(restoreLock(o.prefix)).catch(() => undefined);
    }
  };

  const check = (opts: { starting?: boolean } = {}): Promise<boolean> => {
    running ??= (async () => {
      try {
        const key = restoredMarker(o.prefix);
        // The key first: on a Cluster its answer (a redirect, if need be) is what
        // reconnects the client to a master that went away and came back.
        const marker = await o.redis.get(key);
        const info = await (await masterFor(o.redis, key)).info('server');
        const id = runIdOf(info);
        const restarted = runId !== null && id !== null && id !== runId;
        runId = id ?? runId;
        const reason: RestoreReason | null = !marker ? 'lost' : restarted ? 'restarted' : opts.starting ? 'start' : pending;
        if (!reason) return false;
        if (reason !== 'start') state.lostSince ??= new Date();
        return await restoreNow(reason, opts.starting ?? false);
      } catch (error) {
        pending ??= opts.starting ? 'start' : null;
        // Redis or Postgres unreachable: nothing to do but try again at the next check.
        state.lastError = (error as Error).message;
        // A restore that failed (Postgres away, a misconfiguration) is worth a line each time; Redis itself being away is logged by its client.
        if (pending && pending !== 'start')
          o.logger.warn({ err: state.lastError, reason: pending }, 'could not restore retain’s queues yet; retrying at the next check');
        else o.logger.debug({ err: state.lastError }, 'redis watch check failed');
        return false;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void check().finally(loop), o.intervalMs);
    timer.unref();
  };

  return {
    check,
    state: () => ({ ...state }),
    start() {
      stopped = false;
      loop();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
