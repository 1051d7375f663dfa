import type { AppContext } from '../platform/context.js';
import type { Band, StoredDriver, Tier } from './score.table.js';

/**
 * What a rescore batch hands to the features that react to new scores (churn
 * warnings). Called after the batch's scores are committed; a hook must be
 * idempotent, because a batch can run more than once.
 */
export interface ScoredCustomer {
  customerId: string;
  health: number;
  band: Band;
  previousHealth: number | null;
  previousBand: Band | null;
  pAlive: number | null;
  tier: Tier | null;
  drivers: StoredDriver[];
  scoredAt: Date;
}

export interface RunInfo {
  id: string;
  kind: 'full' | 'incremental' | 'backtest';
  asOf: Date;
}

export type ScoresWrittenHook = (ctx: AppContext, run: RunInfo, scored: ScoredCustomer[]) => Promise<unknown>;

/** Run the features' hooks (from the context's wiring) in order; backtests write nothing anyone should hear about. */
export async function runScoresWrittenHooks(ctx: AppContext, run: RunInfo, scored: ScoredCustomer[]): Promise<void> {
  if (run.kind === 'backtest' || scored.length === 0) return;
  for (const hook of ctx.wiring.scoresWritten) await hook(ctx, run, scored);
}
