import { flag, requireFlag, UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { syncDigestSchedules } from '../digest/digest.service.js';
import type { Role } from './customer.table.js';
import { findTeamByKey, upsertMember, upsertTeam } from './roster.repository.js';
import { checkChannelId, checkSlackUserId, checkTeamKey, isValidTimeZone, ROLES } from './roster.rules.js';

/** `retain team add` and `retain member add`: roles live in retain's database, not in Slack. */
export const rosterCli: CliCommand[] = [
  {
    path: ['team', 'add'],
    usage: 'retain team add KEY --name NAME [--channel C0123] [--tz Europe/Berlin] [--digest-hour 9]',
    summary: 'add or update a team',
    help: 'KEY is a short id used in CSVs (e.g. emea). --channel is the team channel (digests, disputes, unowned alerts). --tz is an IANA time zone (default UTC).',
    async run(args, io, config, withContext) {
      const key = args.positionals[0];
      if (!key) throw new UsageError('KEY is required');
      const keyProblem = checkTeamKey(key);
      if (keyProblem) throw new UsageError(keyProblem);
      const name = requireFlag(args, 'name');
      const channel = flag(args, 'channel') ?? null;
      if (channel && checkChannelId(channel)) throw new UsageError(checkChannelId(channel)!);
      const tz = flag(args, 'tz') ?? 'UTC';
      if (!isValidTimeZone(tz)) throw new UsageError(`--tz "${tz}" is not an IANA time zone (like Europe/Berlin or Asia/Shanghai)`);
      const hourRaw = flag(args, 'digest-hour');
      const digestHour = hourRaw === undefined ? undefined : Number(hourRaw);
      if (digestHour !== undefined && !(Number.isInteger(digestHour) && digestHour >= 0 && digestHour <= 23))
        throw new UsageError('--digest-hour must be a whole hour 0–23');
      return withContext(config, { queues: true }, async ({ ctx }) => {
        const team = await upsertTeam(ctx.db, { key, name, channelId: channel, tz, ...(digestHour !== undefined ? { digestHour } : {}) });
        io.out(`team ${team.key} (${team.name}) — channel ${team.channel_id ?? 'none'}, ${team.tz}, digest at ${String(team.digest_hour).padStart(2, '0')}:00`);
        // Move the team's digest schedule now; if Redis is unreachable, workers do it within 5 minutes.
        try {
          await syncDigestSchedules(ctx);
        } catch {
          io.err('note: could not reach Redis to move the digest schedule now; a running worker will within 5 minutes');
        }
        return 0;
      });
    },
  },
  {
    path: ['member', 'add'],
    usage: 'retain member add SLACK_USER_ID --team KEY --role rep|manager|admin [--channel C0123] [--name "Display Name"]',
    summary: 'add or update a member and their role',
    help: '--channel is where their churn warnings and renewal reminders go (default: a DM with the bot).',
    async run(args, io, config, withContext) {
      const id = args.positionals[0];
      if (!id) throw new UsageError('SLACK_USER_ID is required');
      const idProblem = checkSlackUserId(id);
      if (idProblem) throw new UsageError(idProblem);
      const teamKey = requireFlag(args, 'team');
      const role = requireFlag(args, 'role') as Role;
      if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      const channel = flag(args, 'channel') ?? null;
      if (channel && checkChannelId(channel)) throw new UsageError(checkChannelId(channel)!);
      return withContext(config, {}, async ({ ctx }) => {
        const team = await findTeamByKey(ctx.db, teamKey);
        if (!team) throw new UsageError(`team "${teamKey}" does not exist; add it first: retain team add ${teamKey} --name …`);
        const m = await upsertMember(ctx.db, { slackUserId: id, teamId: team.id, role, alertChannelId: channel, displayName: flag(args, 'name') ?? null });
        io.out(`member ${m.slack_user_id}: ${m.role} in ${team.key}, alerts to ${m.alert_channel_id ?? 'a DM'}`);
        return 0;
      });
    },
  },
];
