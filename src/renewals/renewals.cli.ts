import { dateFlag, flag, UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { table } from '../alerts/stats.rules.js';
import { decidedRenewals } from './renewal.repository.js';
import { churnReasonCounts, CHURN_REASON_LABELS, formatRate, renewalRates, type RateDimension } from './renewal.rules.js';

/** `retain renewals stats`: the renewal rate and churn reasons. */
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
        if (reasons.length) io.out(`\nchurn reasons: ${reasons.map((r) => `${r.reason === 'unknown' ? 'unknown' : CHURN_REASON_LABELS[r.reason]} ${r.count}`).join(', ')}`);
        return 0;
      });
    },
  },
];
