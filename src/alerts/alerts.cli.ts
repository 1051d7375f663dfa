import { dateFlag, flag, UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { age } from '../customers/format.js';
import { alertStatsRows } from './alert.repository.js';
import { countUnsent, listUnsent } from './outbox.repository.js';
import { retryFailed } from './outbox.service.js';
import { alertStats, formatAlertStats, table } from './stats.rules.js';

/** `retain outbox` and `retain alerts stats`. */
export const alertsCli: CliCommand[] = [
  {
    path: ['outbox'],
    usage: 'retain outbox [--retry] [--id N]',
    summary: 'list notifications not yet delivered (pending, failed); --retry re-queues the failed ones',
    help: 'Failed rows carry the reason Slack gave (channel_not_found, not_in_channel, is_archived…): fix it (invite the bot, set another channel) and run with --retry.',
    async run(args, io, config, withContext) {
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
    async run(args, io, config, withContext) {
      const since = dateFlag(args, 'since');
      return withContext(config, {}, async ({ ctx }) => {
        const stats = alertStats(await alertStatsRows(ctx.db, since ? new Date(`${since}T00:00:00Z`) : null));
        io.out(formatAlertStats(stats));
        return 0;
      });
    },
  },
];
