import { dateFlag, flag, UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { localDate } from '../alerts/localtime.js';
import { findTeamByKey } from '../customers/roster.repository.js';
import { blocksToText } from '../slack/blocks.js';
import { composeDigest, syncDigestSchedules } from './digest.service.js';

/** `retain digest preview` and `retain schedules sync`. */
export const digestCli: CliCommand[] = [
  {
    path: ['digest', 'preview'],
    usage: 'retain digest preview --team KEY [--date 2026-11-24]',
    summary: "print a team's digest as it would be posted today (nothing is sent)",
    async run(args, io, config, withContext) {
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
    async run(_args, io, config, withContext) {
      return withContext(config, { queues: true }, async ({ ctx }) => {
        const r = await syncDigestSchedules(ctx);
        io.out(
          r.upserted.length || r.removed.length
            ? `digest schedules: ${r.upserted.length} set, ${r.removed.length} removed`
            : 'digest schedules already up to date',
        );
        return 0;
      });
    },
  },
];
