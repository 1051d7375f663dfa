import type { Feature } from '../feature.js';
import { catchUpScoring } from './catch-up.service.js';
import { installFreshnessMetrics } from './freshness.service.js';
import { rescoreHandlers } from './rescore.job.js';
import { watchRuns } from './rescore.watchdog.service.js';
import { scoresCli } from './scores.cli.js';

/**
 * Scoring: full and incremental rescoring runs fanned out in batches, the
 * purchase-model refits, and the watchdog that re-feeds runs whose batch jobs
 * were lost. Changes in data are rescored by debounced runs (jobs/follow-ups);
 * the schedules are the safety net. Features that react to new scores
 * contribute `scoresWritten` hooks.
 */
export const scoresFeature: Feature = {
  name: 'scores',
  jobs: rescoreHandlers,
  schedules: [
    (ctx) => {
      const s = ctx.config.settings.schedules;
      return [
        { id: 'rescore-incremental', job: 'rescore', pattern: s.rescoreIncremental, tz: s.timezone, data: { mode: 'incremental' } },
        { id: 'rescore-full', job: 'rescore', pattern: s.rescoreFull, tz: s.timezone, data: { mode: 'full' } },
        { id: 'fit-models', job: 'fit', pattern: s.fit, tz: s.timezone, data: {} },
        // A run with no progress for 15 minutes gets its lost batch jobs re-added; one open for a day is failed.
        { id: 'run-watchdog', job: 'watchRuns', pattern: '*/10 * * * *', tz: s.timezone, data: {} },
      ];
    },
  ],
  // Redis lost its jobs: open runs get their uncounted batches back at once.
  refeed: [(ctx) => watchRuns(ctx, { stalledAfterMs: 0 })],
  workerStart: [catchUpScoring],
  metrics: [installFreshnessMetrics],
  cli: scoresCli,
};
