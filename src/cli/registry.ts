import type { AppConfig } from '../config/index.js';
import { buildContext, type Built } from '../main.js';
import { createLogger } from '../platform/logger.js';
import { createAndMigrate } from '../platform/migrate.js';
import { createConsoleGateway } from '../slack/gateway.js';
import type { ParsedArgs } from './args.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface CliCommand {
  /** Words that select the command, e.g. ['import', 'customers']. */
  path: string[];
  usage: string;
  summary: string;
  help?: string;
  run(args: ParsedArgs, io: Io, config: AppConfig): Promise<number>;
}

/** Every `retain` verb; features append theirs (rescore, fit, backtest, outbox, stats…). */
export const commands: CliCommand[] = [];

export function addCommands(...more: CliCommand[]): void {
  for (const c of more) if (!commands.some((x) => x.path.join(' ') === c.path.join(' '))) commands.push(c);
}

/** A migrated database and a context for one CLI run; closed afterwards. */
export async function withContext<T>(config: AppConfig, opts: { queues?: boolean; console?: boolean }, run: (b: Built) => Promise<T>): Promise<T> {
  const logger = createLogger(config.env.LOG_LEVEL === 'info' ? 'warn' : config.env.LOG_LEVEL);
  await createAndMigrate(config.env.DATABASE_URL, logger);
  const built = buildContext({ config, logger, withQueues: opts.queues ?? false, ...(opts.console ? { slack: createConsoleGateway() } : {}) });
  try {
    return await run(built);
  } finally {
    await built.close();
  }
}
