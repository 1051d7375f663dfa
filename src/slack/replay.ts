import type { RedisClient } from '../platform/redis.js';
import type { Logger } from '../platform/logger.js';
import { SIGNATURE_WINDOW_SECONDS } from './request.rules.js';

/**
 * Remembers the signatures of the Slack requests already acted on, so a
 * captured request sent again inside the signature window is answered
 * without acting twice (a second feedback row, a second logged call).
 *
 * The memory is Redis (`SET NX` with an expiry), shared by every web
 * process. A request is remembered for twice the window: one stamped up to
 * five minutes ahead is valid until five minutes after that.
 *
 * When Redis does not answer, each process falls back on its own memory
 * (which it keeps anyway): a replay to the same process is still caught, one
 * to another web process during the outage could act once more. Refusing
 * every Slack request while Redis is down was the alternative; a lookup or a
 * claim matters more than that narrow window.
 */
export interface ReplayGuard {
  /** True the first time a signature is seen; false for a replay. */
  firstSight(signature: string): Promise<boolean>;
}

const REMEMBER_SECONDS = 2 * SIGNATURE_WINDOW_SECONDS;
/** Bounded so a flood of signed requests cannot grow the process without limit. */
const LOCAL_CAPACITY = 100_000;
const REDIS_ANSWER_MS = 250;

export function createReplayGuard(redis: RedisClient | null, prefix: string, logger: Logger, nowMs: () => number = Date.now): ReplayGuard {
  const local = new Map<string, number>();
  let warned = false;

  const seenLocally = (signature: string): boolean => {
    const now = nowMs();
    const until = local.get(signature);
    if (until !== undefined && until > now) return true;
    if (local.size >= LOCAL_CAPACITY) {
      // Oldest first (insertion order): drop what has expired, else the oldest tenth.
      let dropped = 0;
      for (const [k, t] of local) {
        if (t > now && dropped >= LOCAL_CAPACITY / 10) break;
        local.delete(k);
        dropped++;
      }
    }
    local.set(signature, now + REMEMBER_SECONDS * 1000);
    return false;
  };

  return {
    async firstSight(signature) {
      if (seenLocally(signature)) return false;
      if (!redis) return true;
      try {
        const set = await Promise.race([
          redis.set(`${prefix}:slack:seen:${signature}`, '1', 'EX', REMEMBER_SECONDS, 'NX'),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('redis did not answer')), REDIS_ANSWER_MS).unref()),
        ]);
        warned = false;
        return set === 'OK';
      } catch (error) {
        if (!warned) logger.warn({ err: (error as Error).message }, 'replay check fell back to this process’s memory: Redis is unavailable');
        warned = true;
        return true;
      }
    },
  };
}
