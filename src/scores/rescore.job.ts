import type { HandlerMap } from '../jobs/worker.js';

/**
 * Scheduled rescoring. This first version records each run so the schedule can
 * be seen working end to end through Redis; the scoring issue fills in batches.
 */
export const rescoreHandlers: HandlerMap = {
  rescore: async (ctx, data) => {
    const asOf = data.asOf ? new Date(data.asOf) : ctx.clock.now();
    const run = await ctx.db
      .insertInto('scoring_runs')
      .values({ kind: data.mode, as_of: asOf, status: 'done', finished_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { runId: run.id };
  },
};
