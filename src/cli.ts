import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { flag, parseArgs, requireFlag, UsageError } from './cli/args.js';
import type { CliCommand, Io, WithContext } from './cli/command.js';
import { loadConfig, ConfigError, type AppConfig } from './config/index.js';
import { cliCommandsOf } from './feature.js';
import { features } from './features.js';
import { buildContext, start, type RoleName } from './main.js';
import { createLogger } from './platform/logger.js';
import { createAndMigrate } from './platform/migrate.js';
import { blocksToText } from './slack/blocks.js';
import { createConsoleGateway } from './slack/gateway.js';

/** A migrated database and a context (built from the same features as the app) for one CLI run; closed afterwards. */
export const withContext: WithContext = async (config, opts, run) => {
  const logger = createLogger(config.env.LOG_LEVEL === 'info' ? 'warn' : config.env.LOG_LEVEL);
  await createAndMigrate(config.env.DATABASE_URL, logger);
  const built = buildContext({ config, logger, features, withQueues: opts.queues ?? false, ...(opts.console ? { slack: createConsoleGateway() } : {}) });
  try {
    return await run(built);
  } finally {
    await built.close();
  }
};

async function runRoles(roles: RoleName[], config: AppConfig, io: Io): Promise<number> {
  const running = await start({ roles, config, handleSignals: true });
  const where = running.port !== null ? ` on port ${running.port}` : running.metricsPort !== null ? ` (metrics on port ${running.metricsPort})` : '';
  io.err(`retain ${roles.join(' + ')} running${where} (Slack: ${config.slack.kind}); Ctrl-C to stop`);
  await new Promise(() => undefined);
  return 0;
}

/** The verbs of the CLI itself; features add theirs (import, rescore, outbox…). */
const baseCommands: CliCommand[] = [
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
  {
    path: ['start'],
    usage: 'retain start',
    summary: 'run web (Slack, API, health) and worker in one process',
    run: (_a, io, c) => runRoles(['web', 'worker'], c, io),
  },
  {
    path: ['web'],
    usage: 'retain web',
    summary: 'run only the web role (Slack receiver, ingest API, /healthz, /metrics)',
    run: (_a, io, c) => runRoles(['web'], c, io),
  },
  {
    path: ['worker'],
    usage: 'retain worker',
    summary: 'run only the worker role (scheduled and background jobs)',
    run: (_a, io, c) => runRoles(['worker'], c, io),
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
      return withContext(config, { queues: true, console: true }, async ({ ctx }) => {
        const handler = ctx.wiring.slash.get(m[1]!);
        if (!handler) throw new UsageError(`unknown command ${m[1]}; known: ${[...ctx.wiring.slash.keys()].join(', ')}`);
        const reply = await handler(ctx, { userId: as, channelId: flag(args, 'channel') ?? 'CLI', text: m[2] ?? '' });
        io.out(blocksToText(reply));
        return 0;
      });
    },
  },
];

/** Every verb: the CLI's own and the features'. */
export const commands: CliCommand[] = [...baseCommands, ...cliCommandsOf(features)];

/** The order verbs are listed in: getting started first, then operations. */
const LISTING_ORDER = [
  'demo',
  'migrate',
  'start',
  'web',
  'worker',
  'team add',
  'member add',
  'import customers',
  'import events',
  'slash',
  'status',
  'rescore',
  'fit',
  'backtest',
  'outbox',
  'alerts stats',
  'renewals stats',
  'digest preview',
  'schedules sync',
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

export async function runCli(
  argv: string[],
  io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) },
): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = [...commands].sort((a, b) => b.path.length - a.path.length).find((c) => c.path.every((p, i) => words[i] === p));
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
    return await command.run(args, io, config, withContext);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const l of error.lines) io.err(l);
      return 78;
    }
    if (error instanceof UsageError) {
      io.err(`${error.message}\nUsage: ${command.usage}`);
      return 2;
    }
    // Errors that know their exit code (a file that cannot be imported: 3).
    const exitCode = (error as { exitCode?: unknown }).exitCode;
    if (typeof exitCode === 'number') {
      io.err((error as Error).message);
      return exitCode;
    }
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') {
      io.err(`file not found: ${(error as { path?: string }).path ?? ''}`);
      return 2;
    }
    if (code === 'ECONNREFUSED') {
      io.err('cannot connect to PostgreSQL or Redis — is it running? (see DATABASE_URL / REDIS_URL or REDIS_CLUSTER_NODES)');
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
