import type { HandlerMap } from '../jobs/worker.js';
import { fanOutDigests, sendDigest, syncDigestSchedules } from './digest.service.js';

/** Digest jobs: one team's digest, the catch-up fan-out, and the scheduler sync. */
export const digestHandlers: HandlerMap = {
  digest: (ctx, data) => sendDigest(ctx, data.teamId, data.localDate),
  digestFanout: async (ctx, data) => ({ queued: await fanOutDigests(ctx, data.onlyDue) }),
  syncSchedules: async (ctx) => {
    const synced = await syncDigestSchedules(ctx);
    const caughtUp = await fanOutDigests(ctx, true);
    return { ...synced, caughtUp };
  },
};
