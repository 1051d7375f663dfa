import type { CliCommand } from './cli/command.js';
import type { SubcommandHandlers } from './commands/customer.router.js';
import type { ScheduleSpec } from './jobs/schedules.js';
import type { HandlerMap } from './jobs/worker.js';
import type { AppContext, Wiring } from './platform/context.js';
import type { Route } from './platform/http.js';
import type { ScoresWrittenHook } from './scores/hooks.js';
import type { ListenerRegistrar } from './slack/app.js';
import type { SlashHandler } from './slack/slash.js';
import type { Queues } from './jobs/queues.js';
import type { RedisClient } from './platform/redis.js';

/** HTTP routes a feature serves on the web role (built once the context exists). */
export type RouteFactory = (ctx: AppContext, deps: { redis: RedisClient | null; queues: Queues | null }) => Route[];
/** Repeating jobs a feature needs; all are registered by the worker at start-up from one place. */
export type ScheduleFactory = (ctx: AppContext) => Promise<ScheduleSpec[]> | ScheduleSpec[];
/**
 * Puts back, from Postgres, the queued work of a feature that Redis lost
 * (restarted empty, flushed): run by a worker when it notices, and at start
 * when Redis is new to it. Must be idempotent — work still queued is left be.
 */
export type RefeedHook = (ctx: AppContext) => Promise<unknown>;

/**
 * Everything one feature contributes, as a plain value. Each feature folder
 * exports one of these; `src/features.ts` lists them; the composition root
 * (`main.ts`, `cli.ts`) wires the list. Nothing registers itself on import,
 * so a test or bench that builds the app from the same list gets every feature.
 */
export interface Feature {
  readonly name: string;
  /** Bolt listeners (actions, views, shortcuts, events); slash commands go in `slash`. */
  readonly listeners?: readonly ListenerRegistrar[];
  /** Slash commands by name ('/feedback'); the Bolt listener and `retain slash` both call these. */
  readonly slash?: Readonly<Record<string, SlashHandler>>;
  /** `/customer <verb>` handlers, by parsed command kind. */
  readonly subcommands?: SubcommandHandlers;
  readonly jobs?: HandlerMap;
  readonly schedules?: readonly ScheduleFactory[];
  readonly refeed?: readonly RefeedHook[];
  /**
   * Run once when a worker starts, with the schedules: catch up on what
   * happened while no worker ran (customers never scored, reminders due).
   * Each must be safe to run from several workers at once.
   */
  readonly workerStart?: readonly ((ctx: AppContext) => Promise<unknown>)[];
  readonly routes?: readonly RouteFactory[];
  /** Gauges computed at scrape time on the web role's GET /metrics: each installs its collectors once the context exists. */
  readonly metrics?: readonly ((ctx: AppContext) => void)[];
  readonly cli?: readonly CliCommand[];
  /** Called after a scoring batch commits its scores (never for backtests). */
  readonly scoresWritten?: readonly ScoresWrittenHook[];
}

/** Contributions of one kind from every feature; a name claimed twice is a wiring bug, caught at start-up. */
function merged<T>(features: readonly Feature[], pick: (f: Feature) => Readonly<Record<string, T>> | undefined, what: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const f of features) {
    for (const [key, value] of Object.entries(pick(f) ?? {})) {
      if (key in out) throw new Error(`${what} "${key}" is contributed twice (second time by feature ${f.name})`);
      out[key] = value;
    }
  }
  return out;
}

/** The part of the wiring that features call at run time (through the context). */
export function wire(features: readonly Feature[]): Wiring {
  const slash = new Map(Object.entries(merged(features, (f) => f.slash, 'slash command')));
  const subcommands = merged(features, (f) => f.subcommands as Record<string, unknown> | undefined, '/customer subcommand') as SubcommandHandlers;
  const scoresWritten = features.flatMap((f) => f.scoresWritten ?? []);
  return { slash, subcommands, scoresWritten };
}

export function jobHandlersOf(features: readonly Feature[]): HandlerMap {
  return merged(features, (f) => f.jobs as Record<string, unknown> | undefined, 'job handler') as HandlerMap;
}

export function cliCommandsOf(features: readonly Feature[]): CliCommand[] {
  const seen = new Set<string>();
  const out: CliCommand[] = [];
  for (const c of features.flatMap((f) => f.cli ?? [])) {
    const key = c.path.join(' ');
    if (seen.has(key)) throw new Error(`CLI verb "retain ${key}" is contributed twice`);
    seen.add(key);
    out.push(c);
  }
  return out;
}
