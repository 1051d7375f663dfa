import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flag, parseArgs, requireFlag, UsageError } from './cli/args.js';
import { loadConfig, ConfigError, type AppConfig } from './config/index.js';
import { checkChannelId, checkSlackUserId, checkTeamKey, isValidTimeZone, ROLES } from './customers/roster.rules.js';
import { findTeamByKey, upsertMember, upsertTeam } from './customers/roster.repository.js';
import { syncDigestSchedules } from './digest/digest.service.js';
import type { Role } from './customers/customer.table.js';
import { formatImportReport, importCustomers, importEvents, ImportError } from './ingest/import.service.js';
import { start, type RoleName } from './main.js';
import { addCommands, commands, withContext, type Io } from './cli/registry.js';
import { createLogger } from './platform/logger.js';
import { createAndMigrate } from './platform/migrate.js';
import { blocksToText } from './slack/blocks.js';
import { slashHandlers } from './slack/slash.registry.js';
import './features.js';

async function runRoles(roles: RoleName[], config: AppConfig, io: Io): Promise<number> {
  const running = await start({ roles, config, handleSignals: true });
  io.err(`retain ${roles.join(' + ')} running${running.port !== null ? ` on port ${running.port}` : ''} (Slack: ${config.slack.kind}); Ctrl-C to stop`);
  await new Promise(() => undefined);
  return 0;
}

addCommands(
  {
    path: ['migrate'],
    usage: 'retain migrate',
    summary: 'create the database if missing, then apply migrations',
    async run(_args, io, config) {
      const r = await createAndMigrate(config.env.DATABASE_URL, createLogger('warn'));
      io.out(`${r.created ? 'created database; ' : ''}${r.applied.length ? `applied ${r.applied.join(', ')}` : 'already up to date'}`);
      return 0;
    },
  },
  { path: ['start'], usage: 'retain start', summary: 'run web (Slack, API, health) and worker in one process', run: (_a, io, c) => runRoles(['web', 'worker'], c, io) },
  { path: ['web'], usage: 'retain web', summary: 'run only the web role (Slack receiver, ingest API, /healthz, /metrics)', run: (_a, io, c) => runRoles(['web'], c, io) },
  { path: ['worker'], usage: 'retain worker', summary: 'run only the worker role (scheduled and background jobs)', run: (_a, io, c) => runRoles(['worker'], c, io) },
  {
    path: ['team', 'add'],
    usage: 'retain team add KEY --name NAME [--channel C0123] [--tz Europe/Berlin] [--digest-hour 9]',
    summary: 'add or update a team',
    help: 'KEY is a short id used in CSVs (e.g. emea). --channel is the team channel (digests, disputes, unowned alerts). --tz is an IANA time zone (default UTC).',
    async run(args, io, config) {
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
      if (digestHour !== undefined && !(Number.isInteger(digestHour) && digestHour >= 0 && digestHour <= 23)) throw new UsageError('--digest-hour must be a whole hour 0–23');
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
    async run(args, io, config) {
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
  {
    path: ['import', 'customers'],
    usage: 'retain import customers FILE.csv',
    summary: 'load customers (idempotent; bad rows reported by line)',
    help: 'Columns: external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team. Only external_id and name are required; an empty cell means unknown and never erases a known value.',
    async run(args, io, config) {
      const file = args.positionals[0];
      if (!file) throw new UsageError('FILE is required');
      return withContext(config, {}, async ({ dbHandle }) => {
        const report = await importCustomers(dbHandle.db, file);
        io.out(formatImportReport('customers', report));
        return report.problems.length ? 3 : 0;
      });
    },
  },
  {
    path: ['import', 'events'],
    usage: 'retain import events FILE.csv',
    summary: 'load signals (idempotent; bad rows reported by line)',
    help: 'Columns: customer_external_id,kind,occurred_at,value,external_id. kind is one of order, usage, ticket, complaint, payment_failed, nps.',
    async run(args, io, config) {
      const file = args.positionals[0];
      if (!file) throw new UsageError('FILE is required');
      return withContext(config, {}, async ({ dbHandle }) => {
        const report = await importEvents(dbHandle.pool, file);
        io.out(formatImportReport('events', report));
        return report.problems.length ? 3 : 0;
      });
    },
  },
  {
    path: ['demo'],
    usage: 'retain demo',
    summary: 'seed a sample book, score it through the real queue, and show what reps would see (console mode)',
    help: 'Uses DATABASE_URL and REDIS_URL (defaults: local retain database and Redis). Safe to re-run.',
    run: async (_args, io, config) => {
      const { runDemo } = await import('./demo/demo.js');
      return runDemo(config, io);
    },
  },
  {
    path: ['slash'],
    usage: 'retain slash "/customer acme" --as U0123 [--channel C0123]',
    summary: 'run a slash command as a user and print the reply (console mode)',
    async run(args, io, config) {
      const line = args.positionals.join(' ').trim();
      const as = requireFlag(args, 'as');
      const m = /^(\/\S+)\s*([\s\S]*)$/.exec(line);
      if (!m) throw new UsageError('give the command as you would type it in Slack, e.g. "/customer acme"');
      const handler = slashHandlers.get(m[1]!);
      if (!handler) throw new UsageError(`unknown command ${m[1]}; known: ${[...slashHandlers.keys()].join(', ')}`);
      return withContext(config, { queues: true, console: true }, async ({ ctx }) => {
        const reply = await handler(ctx, { userId: as, channelId: flag(args, 'channel') ?? 'CLI', text: m[2] ?? '' });
        io.out(blocksToText(reply));
        return 0;
      });
    },
  },
);

/** The order verbs are listed in: getting started first, then operations. */
const LISTING_ORDER = [
  'demo', 'migrate', 'start', 'web', 'worker', 'team add', 'member add', 'import customers', 'import events', 'slash',
  'rescore', 'fit', 'backtest', 'outbox', 'alerts stats', 'renewals stats', 'digest preview', 'schedules sync',
];
const rank = (c: { path: string[] }) => {
  const i = LISTING_ORDER.indexOf(c.path.join(' '));
  return i < 0 ? LISTING_ORDER.length : i;
};

function usageText(): string {
  const listed = [...commands].sort((a, b) => rank(a) - rank(b));
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  return [
    'retain — keeps B2B customers from churning, from Slack',
    '',
    'Usage: retain <command> [options]   (retain <command> --help for details)',
    '',
    ...listed.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function runCli(argv: string[], io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = [...commands]
    .sort((a, b) => b.path.length - a.path.length)
    .find((c) => c.path.every((p, i) => words[i] === p));
  if (!command) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.out(usageText());
      return 0;
    }
    io.err(`unknown command: ${argv.join(' ')}\n\n${usageText()}`);
    return 2;
  }
  // Drop the command words (first occurrences, in order) from argv.
  const rest = [...argv];
  for (const p of command.path) rest.splice(rest.indexOf(p), 1);
  const args = parseArgs(rest);
  if (args.flags.help) {
    io.out(`Usage: ${command.usage}\n\n${command.summary}${command.help ? `\n\n${command.help}` : ''}`);
    return 0;
  }
  try {
    const config = loadConfig();
    return await command.run(args, io, config);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const l of error.lines) io.err(l);
      return 78;
    }
    if (error instanceof UsageError) {
      io.err(`${error.message}\nUsage: ${command.usage}`);
      return 2;
    }
    if (error instanceof ImportError) {
      io.err(error.message);
      return 3;
    }
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') {
      io.err(`file not found: ${(error as { path?: string }).path ?? ''}`);
      return 2;
    }
    if (code === 'ECONNREFUSED') {
      io.err('cannot connect to PostgreSQL or Redis — is it running? (see DATABASE_URL / REDIS_URL)');
      return 69;
    }
    io.err(`failed: ${(error as Error).message}`);
    return 1;
  }
}

const invokedDirectly = (() => {
  try {
    const entry = process.argv[1] ? realpathSync(process.argv[1]) : '';
    return entry === fileURLToPath(import.meta.url) || entry.endsWith('/bin/retain.js');
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      // Long-running roles never get here; everything else exits with its code.
      process.exit(code);
    },
    (e) => {
      process.stderr.write(`failed: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
