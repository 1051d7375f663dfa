import { flag, UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { DAY_MS, isoDate } from '../platform/clock.js';
import { parseAsOf } from './as-of.js';
import { formatBacktestReport, runBacktest } from './backtest.service.js';
import { fitModels, formatFitReport } from './fit.service.js';
import { fitHealthModel, formatHealthFit } from './health-fit.service.js';
import { scoringConfigFrom } from './scoring.config.js';
import { formatRescoreSummary, rescoreNow } from './rescore.runner.js';
import { withDetachedQueues } from '../jobs/detached.js';
import { freshnessReport } from './freshness.service.js';
import { formatFreshness } from './freshness.rules.js';

/** `retain rescore`, `retain fit`, `retain backtest`, `retain status`. */
export const scoresCli: CliCommand[] = [
  {
    path: ['status'],
    usage: 'retain status',
    summary: 'for the person on call: queues, last runs, score lag, outbox backlog, newest signal per source',
    help:
      'Queue depths (waiting, active, delayed, prioritized, failed); the last full and incremental runs (when, how long, how many); ' +
      'scoring runs open and started in the last hour; the oldest change in data no score has read yet and how many customers wait; ' +
      'messages waiting in the outbox; and how long ago each signal source last delivered. The same figures are on GET /metrics.',
    async run(_args, io, config, withContext) {
      return withContext(config, {}, async ({ ctx }) => {
        const withQueues = await withDetachedQueues(config, ctx.logger, (queues) => freshnessReport({ ...ctx, queues }));
        const report = withQueues?.value ?? (await freshnessReport(ctx));
        for (const line of formatFreshness(report)) io.out(line);
        return 0;
      });
    },
  },
  {
    path: ['rescore'],
    usage: 'retain rescore [--incremental]',
    summary: 'score every customer now (one full run, in this process) and print a summary',
    help:
      'Runs the same batch code as the workers, in this process. --incremental scores only customers with new signals, ' +
      'feedback or interactions since their last score (and never-scored ones). Prints customers scored, time taken, ' +
      'band counts and how many customers changed band.',
    async run(args, io, config, withContext) {
      const incremental = args.flags.incremental === true;
      return withContext(config, { queues: true }, async ({ ctx }) => {
        const result = await rescoreNow(ctx, { mode: incremental ? 'incremental' : 'full' });
        for (const line of formatRescoreSummary(result)) io.out(line);
        return result.run.status === 'done' ? 0 : 1;
      });
    },
  },
  {
    path: ['fit'],
    usage: 'retain fit [--as-of YYYY-MM-DD] [--churn status|lapse]',
    summary: 'refit the purchase models (BG/NBD, Gamma-Gamma) and the health model from the history up to a date (default today)',
    help:
      'Stores each model in model_fits (a purchase fit that did not converge keeps the previous one in use) and prints its parameters ' +
      '(time in weeks), log-likelihood and customers seen. Then fits the health model: replays the scoring at scoring.churnModel.origins ' +
      "past dates one horizon apart (only the data known at each), labels churn within the horizon after each, learns the measures' " +
      'weights by regularised logistic regression on all but the latest date, and keeps them only if they rank churn better than the ' +
      'configured weights on that held-out date; calibrates the chance of churn the card shows and picks the alert threshold that ' +
      'reaches scoring.churnModel.targetPrecision. --churn overrides scoring.churnModel.churn (default: what the book records).',
    async run(args, io, config, withContext) {
      const raw = flag(args, 'as-of');
      const churn = flag(args, 'churn');
      if (churn !== undefined && churn !== 'status' && churn !== 'lapse') throw new UsageError('--churn must be status or lapse');
      return withContext(config, {}, async ({ ctx }) => {
        const asOf = raw ? parseAsOf(raw) : ctx.clock.now();
        const settings = scoringConfigFrom(ctx.config.settings);
        const report = await fitModels(ctx.db, asOf, { store: true, now: ctx.clock.now(), logger: ctx.logger });
        for (const line of formatFitReport(report)) io.out(line);
        const health = await fitHealthModel(ctx.db, settings, asOf, { store: true, now: ctx.clock.now(), logger: ctx.logger, ...(churn ? { churn } : {}) });
        for (const line of formatHealthFit(health)) io.out(line);
        return report.bgnbd.params ? 0 : 1;
      });
    },
  },
  {
    path: ['backtest'],
    usage: 'retain backtest --as-of YYYY-MM-DD [--horizon 90] [--churn status|lapse]',
    summary: 'replay the scoring as of a past date and report how well it ranked the accounts that churned',
    help:
      'Scores every customer active at the date with only the data known then (purchase and health models fitted as of the date too), ' +
      'then compares with churn in the following --horizon days. --churn status: marked churned (customers.churned_at) or a renewal ' +
      'marked churned; --churn lapse: no order within the horizon (customers with an order by the date). Without --churn the book ' +
      'decides: status where it records contractual churn, else lapse — the report says which. Reports AUC with a bootstrap 95% ' +
      'interval, PR-AUC, top-decile lift, the Brier score and a calibration table of the chance of churn, and the precision / recall ' +
      "of the churn warning as configured and at the health model's fitted threshold. Writes nothing but a backtest run row.",
    async run(args, io, config, withContext) {
      const raw = flag(args, 'as-of');
      if (!raw) throw new UsageError('--as-of is required (e.g. --as-of 2026-06-30)');
      const asOf = parseAsOf(raw);
      const horizonRaw = flag(args, 'horizon') ?? '90';
      const horizonDays = Number(horizonRaw);
      if (!Number.isInteger(horizonDays) || horizonDays <= 0 || horizonDays > 3650) throw new UsageError('--horizon must be a whole number of days (1–3650)');
      const churn = flag(args, 'churn') ?? 'auto';
      if (churn !== 'auto' && churn !== 'status' && churn !== 'lapse') throw new UsageError('--churn must be status or lapse');
      return withContext(config, {}, async ({ ctx }) => {
        if (asOf.getTime() > ctx.clock.now().getTime()) throw new UsageError(`--as-of ${raw} is in the future`);
        const windowEnd = new Date(asOf.getTime() + horizonDays * DAY_MS);
        if (windowEnd.getTime() > ctx.clock.now().getTime()) {
          io.err(`note: the horizon ends ${isoDate(windowEnd)}, after today — churn after today is not known yet`);
        }
        const report = await runBacktest(ctx, { asOf, horizonDays, churn });
        for (const line of formatBacktestReport(report)) io.out(line);
        return 0;
      });
    },
  },
];
