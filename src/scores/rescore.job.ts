import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { HandlerMap } from '../jobs/worker.js';
import { failRun, findRunByJobKey, fullRunState, openIncrementalUnlessBusy } from './run.repository.js';
import { failBatch, runBatch } from './rescore.batch.service.js';
import { enqueueBatches } from './rescore.fanout.service.js';
import { prepareRun } from './rescore.prepare.service.js';
import { watchRuns } from './rescore.watchdog.service.js';
import { fitModels } from './fit.service.js';
import { fitRenewals } from '../renewals/renewal-model.service.js';
import { fitHealthModel } from './health-fit.service.js';
import { scoringConfigFrom } from './scoring.config.js';
import { parseAsOf } from './as-of.js';

/** True on the job's last attempt: after this failure BullMQ gives up. */
function finalAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Incremental runs go one at a time: a run that starts while another is still
 * scoring would select every customer the other has not reached yet and
 * score it twice. A run waits (in the delayed set, re-checking every
 * WAIT_STEP_MS) while another incremental run is alive, at most
 * MAX_WAIT_MS; a run with no progress for ALIVE_WITHIN_MS is not waited for.
 * Full runs are never waited for: changes must not wait out a nightly run.
 */
const WAIT_STEP_MS = 500;
const MAX_WAIT_MS = 60_000;
const ALIVE_WITHIN_MS = 30_000;

/**
 * Scoring jobs. `rescore` prepares a run and fans it out; each `rescoreBatch`
 * scores its customers and the last one closes the run; `fit` refits the
 * purchase models; `watchRuns` re-feeds runs whose batch jobs were lost. All
 * are safe to run more than once.
 */
export const rescoreHandlers: HandlerMap = {
  rescore: async (ctx, data, job, token) => {
    const asOf = data.asOf ? parseAsOf(data.asOf) : undefined;
    const jobKey = job.id ?? null;
    try {
      // A change (or a worker's start) on a book never fully scored gets the
      // full run its RFM and tier edges need; a re-run of this job finds its
      // run by job key whatever it decides here.
      const promote = data.mode === 'incremental' && (data.reason === 'change' || data.reason === 'start') && (await fullRunState(ctx.db)) === 'none';
      const mode = promote ? 'full' : data.mode;
      if (mode === 'incremental' && jobKey && Date.now() - job.timestamp < MAX_WAIT_MS) {
        const opened = await openIncrementalUnlessBusy(ctx.db, { asOf: asOf ?? ctx.clock.now(), jobKey, aliveWithinMs: ALIVE_WITHIN_MS });
        if (opened === 'busy') {
          await job.moveToDelayed(Date.now() + WAIT_STEP_MS, token);
          throw new DelayedError();
        }
      }
      const prepared = await prepareRun(ctx, { mode, ...(asOf ? { asOf } : {}), jobKey });
      const batches = prepared.run.status === 'running' ? await enqueueBatches(ctx, prepared.run) : 0;
      return { runId: prepared.run.id, batches };
    } catch (e) {
      if (e instanceof DelayedError) throw e;
      // Out of attempts: the run (if it was opened) is marked failed rather than left running.
      const run = jobKey && finalAttempt(job) ? await findRunByJobKey(ctx.db, jobKey) : undefined;
      if (run) await failRun(ctx.db, run.id, (e as Error).message ?? String(e));
      throw e;
    }
  },

  rescoreBatch: async (ctx, data, job) => {
    try {
      return await runBatch(ctx, data);
    } catch (e) {
      if (e instanceof UnrecoverableError || finalAttempt(job)) await failBatch(ctx, data, (e as Error).message ?? String(e));
      throw e;
    }
  },

  watchRuns: (ctx) => watchRuns(ctx),

  fit: async (ctx, data) => {
    const asOf = data.asOf ? parseAsOf(data.asOf) : ctx.clock.now();
    const report = await fitModels(ctx.db, asOf, { store: true, now: ctx.clock.now(), logger: ctx.logger });
    ctx.logger.info(
      { asOf: report.asOfDate, bgnbd: report.bgnbd.params, gammagamma: report.gammagamma.params, stored: [report.bgnbd.stored, report.gammagamma.stored] },
      'purchase models refitted',
    );
    const health = await fitHealthModel(ctx.db, scoringConfigFrom(ctx.config.settings), asOf, { store: true, now: ctx.clock.now(), logger: ctx.logger });
    ctx.logger.info(
      { asOf: health.asOfDate, use: health.model.use, reason: health.model.reason, fitId: health.fitId, ms: Math.round(health.ms) },
      'health model refitted',
    );
    const r = ctx.config.settings.renewals;
    const renewal = await fitRenewals(ctx.db, r, asOf, { by: r.segmentBy, kind: r.model, store: true, now: ctx.clock.now() });
    ctx.logger.info(
      { asOf: renewal.asOfDate, customers: renewal.model.pooled.customers, segments: renewal.model.segments.length, fitId: renewal.fitId },
      'renewal model refitted',
    );
    return { bgnbd: report.bgnbd.fitId, gammagamma: report.gammagamma.fitId, health: health.fitId, renewal: renewal.fitId };
  },
};
