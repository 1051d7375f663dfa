import { dateFlag, flag, UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { table } from '../alerts/stats.rules.js';
import { quarterOf } from '../alerts/localtime.js';
import { isoDate } from '../platform/clock.js';
import { parseAsOf } from '../scores/as-of.js';
import { decidedRenewals } from './renewal.repository.js';
import { parseQuarter, type RetentionModelKind, type SegmentBy } from './renewal-model.rules.js';
import { fitRenewals, forecastQuarter, formatQuarterForecast, formatRenewalFit } from './renewal-model.service.js';
import { churnReasonCounts, CHURN_REASON_LABELS, formatRate, renewalRates, type RateDimension } from './renewal.rules.js';

/** `retain renewals stats|fit|forecast`: the renewal rate and churn reasons; the renewal model and its forecast. */
export const renewalsCli: CliCommand[] = [
  {
    path: ['renewals', 'stats'],
    usage: 'retain renewals stats [--since 2026-01-01] [--by team|owner|tier]',
    summary: 'renewal rate (renewed ÷ decided) per quarter, by team, owner and tier; churn reasons',
    async run(args, io, config, withContext) {
      const since = dateFlag(args, 'since');
      const by = flag(args, 'by');
      if (by !== undefined && !['team', 'owner', 'tier'].includes(by)) throw new UsageError('--by must be team, owner or tier');
      const dims: RateDimension[] = by ? ['all', by as RateDimension] : ['all', 'team', 'owner', 'tier'];
      return withContext(config, {}, async ({ ctx }) => {
        const rows = (await decidedRenewals(ctx.db, since ? { from: since } : {})).map((r) => ({
          renewalDate: r.renewal_date,
          outcome: r.outcome,
          team: r.team_key,
          owner: r.owner_slack_id,
          tier: r.tier,
          churnReason: r.churn_reason,
        }));
        if (rows.length === 0) {
          io.out('no renewals decided yet — mark them with the Renewed / Churned buttons on renewal reminders');
          return 0;
        }
        const rates = renewalRates(rows, dims);
        io.out(
          table([
            ['quarter', 'by', 'who', 'renewed', 'churned', 'decided', 'rate'],
            ...rates.map((r) => [r.quarter, r.dimension, r.key, String(r.renewed), String(r.churned), String(r.decided), formatRate(r.rate)]),
          ]),
        );
        const reasons = churnReasonCounts(rows);
        if (reasons.length)
          io.out(`\nchurn reasons: ${reasons.map((r) => `${r.reason === 'unknown' ? 'unknown' : CHURN_REASON_LABELS[r.reason]} ${r.count}`).join(', ')}`);
        return 0;
      });
    },
  },
  {
    path: ['renewals', 'fit'],
    usage: 'retain renewals fit [--as-of YYYY-MM-DD] [--by plan|tier|none] [--model sbg|bdw]',
    summary: 'fit the contractual renewal model (sBG, or BdW) by segment from contract starts and churns',
    help:
      'Each customer with a contract start (started_at) contributes its tenure in contract years as of the date: the year it churned in ' +
      '(churned_at), or the years completed so far if still active (right-censored; cohorts may start in different years). Fits the ' +
      'shifted-beta-geometric model (--model bdw: beta-discrete-Weibull) by maximum likelihood for all customers and per segment ' +
      "(--by plan, tier — the latest score's — or none; default renewals.segmentBy, plan). Prints per segment: customers, α, β (and c), log-likelihood, the " +
      'expected retention at the next renewal and the discounted expected residual lifetime (DERL) at renewals.discountRate. ' +
      'Stores the fit (model_fits, kind renewal) for renewal forecasts and the digest.',
    async run(args, io, config, withContext) {
      const raw = flag(args, 'as-of');
      const byFlag = flag(args, 'by') as SegmentBy | undefined;
      if (byFlag !== undefined && !['plan', 'tier', 'none'].includes(byFlag)) throw new UsageError('--by must be plan, tier or none');
      const kindFlag = flag(args, 'model') as RetentionModelKind | undefined;
      if (kindFlag !== undefined && kindFlag !== 'sbg' && kindFlag !== 'bdw') throw new UsageError('--model must be sbg or bdw');
      return withContext(config, {}, async ({ ctx }) => {
        const asOf = raw ? parseAsOf(raw) : ctx.clock.now();
        const by = byFlag ?? ctx.config.settings.renewals.segmentBy;
        const kind = kindFlag ?? ctx.config.settings.renewals.model;
        const report = await fitRenewals(ctx.db, ctx.config.settings.renewals, asOf, { by, kind, store: true, now: ctx.clock.now() });
        for (const line of formatRenewalFit(report)) io.out(line);
        return report.model.pooled.uses === 'own' ? 0 : 1;
      });
    },
  },
  {
    path: ['renewals', 'forecast'],
    usage: 'retain renewals forecast [--quarter 2027-Q1]',
    summary: "a quarter's open renewals: expected renewals and renewal rate, ARR at risk with an 80% interval, by team and segment",
    help:
      'Each open renewal due in the quarter (default: the current one) renews with r(t) of its segment at its tenure, from the latest ' +
      "`retain renewals fit`, pooled with the health model's chance of churn where the latest score has one (renewals.healthWeight). " +
      'The renewals interval is exact (Poisson-binomial); the ARR interval is simulated (a few large accounts make it lumpy).',
    async run(args, io, config, withContext) {
      const raw = flag(args, 'quarter');
      const asked = raw === undefined ? null : parseQuarter(raw);
      if (raw !== undefined && !asked) throw new UsageError('--quarter must look like 2027-Q1');
      return withContext(config, {}, async ({ ctx }) => {
        const quarter = asked ?? parseQuarter(quarterOf(isoDate(ctx.clock.now())))!;
        const report = await forecastQuarter(ctx.db, ctx.config.settings.renewals, quarter);
        for (const line of formatQuarterForecast(report)) io.out(line);
        return 0;
      });
    },
  },
];
