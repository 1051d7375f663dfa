import type { AppConfig } from '../config/index.js';
import type { Built } from '../main.js';

/** The context a CLI verb is handed (features name it from here, never from the composition root). */
export type { Built };
import type { ParsedArgs } from './args.js';

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * Opens a migrated database (and, when asked, Redis queues or a console Slack
 * gateway) for one CLI run, and closes it afterwards. `cli.ts` builds it from
 * the same feature list as the running app and hands it to every verb.
 */
export type WithContext = <T>(config: AppConfig, opts: { queues?: boolean; console?: boolean }, run: (b: Built) => Promise<T>) => Promise<T>;

/** One `retain` verb, contributed by a feature (or by cli.ts itself). */
export interface CliCommand {
  /** Words that select the command, e.g. ['import', 'customers']. */
  path: string[];
  usage: string;
  summary: string;
  help?: string;
  run(args: ParsedArgs, io: Io, config: AppConfig, withContext: WithContext): Promise<number>;
}
