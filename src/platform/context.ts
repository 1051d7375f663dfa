import type { SubcommandHandlers } from '../commands/customer.router.js';
import type { AppConfig } from '../config/index.js';
import type { Queues } from '../jobs/queues.js';
import type { ScoresWrittenHook } from '../scores/hooks.js';
import type { SlackGateway } from '../slack/gateway.js';
import type { SlackHealth } from '../slack/health.js';
import type { SlashHandler } from '../slack/slash.js';
import type { Clock } from './clock.js';
import type { Db } from './db.js';
import type { Logger } from './logger.js';
import type { ReadRouter } from './read-routing.js';

/**
 * What the features contribute that is called at run time rather than wired
 * at start-up: slash handlers (for "which one?" resumes and `retain slash`),
 * `/customer` verbs, and the hooks that react to new scores. Built once from
 * the feature list by the composition root.
 */
export interface Wiring {
  readonly slash: ReadonlyMap<string, SlashHandler>;
  readonly subcommands: SubcommandHandlers;
  readonly scoresWritten: readonly ScoresWrittenHook[];
}

/** Everything a service needs, built once by the composition root (main.ts). */
export interface AppContext {
  readonly config: AppConfig;
  /** Primary: every write and every read that must see its own writes. */
  readonly db: Db;
  /**
   * Read replica when DATABASE_REPLICA_URL is set (the primary whenever the
   * replica is down or too far behind), else the primary: reads that follow
   * no write of the person asking (lookups by name, digests).
   */
  readonly readDb: Db;
  /** Reads about a customer or a person: `await ctx.reads.for(...)` gives the primary until their latest write is on the replica; writers call `ctx.reads.wrote(...)` after commit. */
  readonly reads: ReadRouter;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly slack: SlackGateway;
  /** Whether Slack takes the bot token right now (checked in the background); null in console mode. */
  readonly slackHealth: SlackHealth | null;
  /** Producer side of the job queues; null where no Redis is wanted (pure CLI imports). */
  readonly queues: Queues | null;
  readonly wiring: Wiring;
}
