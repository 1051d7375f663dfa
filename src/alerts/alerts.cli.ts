import { flag, UsageError, type ParsedArgs } from '../cli/args.js';
import { addCommands, withContext } from '../cli/registry.js';
import { findTeamByKey } from '../customers/roster.repository.js';
import { age } from '../customers/format.js';
import { composeDigest, syncDigestSchedules } from '../digest/digest.service.js';
import { blocksToText } from '../slack/blocks.js';
import { decidedRenewals } from '../renewals/renewal.repository.js';
import { churnReasonCounts, CHURN_REASON_LABELS, formatRate, renewalRates, type RateDimension } from '../renewals/renewal.rules.js';
import { alertStatsRows } from './alert.repository.js';
import { localDate } from './localtime.js';
import { countUnsent, listUnsent } from './outbox.repository.js';
import { retryFailed } from './outbox.service.js';
import { alertStats, formatAlertStats, table } from './stats.rules.js';

function dateFlag(args: ParsedArgs, name: string): string | undefined {
  const v = flag(args, name);
  if (v !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new UsageError(`--${name} must be a date like 2026-01-01`);
  return v;
}

addCommands(
  {
    path: ['outbox'],
    usage: 'retain outbox [--retry] [--id N]',
    summary: 'list notifications not yet delivered (pending, failed); --retry re-queues the failed ones',
    help: 'Failed rows carry the reason Slack gave (channel_not_found, not_in_channel, is_archived…): fix it (invite the bot, set another channel) and run with --retry.',
    async run(args, io, config) {
      const retry = args.flags.retry === true;
      const id = flag(args, 'id');
      if (id !== undefined && !/^\d+$/.test(id)) throw new UsageError('--id must be a notification number, as listed by `retain outbox`');
      return withContext(config, { queues: retry }, async ({ ctx }) => {
        if (retry) {
          const n = await retryFailed(ctx, id ? [id] : undefined);
          io.out(n ? `re-queued ${n} failed notification${n === 1 ? '' : 's'}` : 'no failed notifications to retry');
          return 0;
        }
        const counts = await countUnsent(ctx.db);
        io.out(`outbox: ${counts.pending} pending, ${counts.sending} sending, ${counts.failed} failed`);
        const rows = await listUnsent(ctx.db, 100);
        const now = ctx.clock.now();
        if (rows.length) {
          io.out(
            table([
              ['id', 'status', 'kind', 'to', 'attempts', 'since', 'reason'],
              ...rows.map((r) => [`#${r.id}`, r.status, r.kind, r.channel_id, String(r.attempts), age(new Date(r.updated_at), now), r.last_error ?? '']),
            ]),
          );
        }
        if (counts.failed) io.out('\nfix the cause, then: retain outbox --retry');
        return 0;
      });
    },
  },
  {
    path: ['alerts', 'stats'],
    usage: 'retain alerts stats [--since 2026-01-01]',
    summary: 'per alert rule: raised, acknowledged, useful, false alarm, precision',
    help: 'precision = useful ÷ (useful + false alarm), from the Useful / False alarm buttons on each churn warning and tier-A complaint alert.',
    async run(args, io, config) {
      const since = dateFlag(args, 'since');
      return withContext(config, {}, async ({ ctx }) => {
        const stats = alertStats(await alertStatsRows(ctx.db, since ? new Date(`${since}T00:00:00Z`) : null));
        io.out(formatAlertStats(stats));
        return 0;
      });
    },
  },
  {
    path: ['renewals', 'stats'],
    usage: 'retain renewals stats [--since 2026-01-01] [--by team|owner|tier]',
    summary: 'renewal rate (renewed ÷ decided) per quarter, by team, owner and tier; churn reasons',
    async run(args, io, config) {
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
  {
    path: ['digest', 'preview'],
    usage: 'retain digest preview --team KEY [--date 2026-11-24]',
    summary: "print a team's digest as it would be posted today (nothing is sent)",
    async run(args, io, config) {
      const key = flag(args, 'team');
      if (!key) throw new UsageError('--team is required');
      const date = dateFlag(args, 'date');
      return withContext(config, {}, async ({ ctx }) => {
        const team = await findTeamByKey(ctx.db, key);
        if (!team) throw new UsageError(`team "${key}" does not exist`);
        const now = ctx.clock.now();
        const digest = await composeDigest(ctx, team, date ?? localDate(now, team.tz), now);
        io.out(blocksToText({ text: digest.text, blocks: digest.blocks }));
        return 0;
      });
    },
  },
  {
    path: ['schedules', 'sync'],
    usage: 'retain schedules sync',
    summary: "move per-team digest schedules to the teams' current time zone and hour now (workers also do this every 5 minutes)",
    async run(_args, io, config) {
      return withContext(config, { queues: true }, async ({ ctx }) => {
        const r = await syncDigestSchedules(ctx);
        io.out(r.upserted.length || r.removed.length ? `digest schedules: ${r.upserted.length} set, ${r.removed.length} removed` : 'digest schedules already up to date');
        return 0;
      });
    },
  },
);
