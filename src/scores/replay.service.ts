import type { Db, Trx } from '../platform/db.js';
import { churnedAmong, clearBacktestPopulation, createBacktestPopulation } from './backtest.repository.js';
import { aggregateBatch } from './facts.repository.js';
import { modelsAsOf, type FitReport } from './fit.service.js';
import type { ChurnDefinition, HealthModel } from './health-model.rules.js';
import { batchCustomerIds, writePopulation } from './population.repository.js';
import { feedState, runInputs, type RunContext } from './rescore.prepare.service.js';
import { newPatternMemo, scoreCustomer, type ComputedScore, type CustomerFacts, type RunScoringInputs } from './score.rules.js';
import type { ScoringSettings } from './scoring.config.js';

/**
 * Replaying the scoring at a past date with only what was known then: the
 * purchase models fitted as of the date, the feeds' freshness at the date,
 * the active base ranked for RFM and tiers at the date (in the transaction's
 * temporary population table), each batch's signals, feedback and touches up
 * to the date — the same code a live run uses, batch by batch, so memory
 * stays bounded whatever the book's size. Backtests and the health model's
 * fit both stand on it. Nothing is written but the temporary table.
 */
export interface ReplayInput {
  /** The replay's rows in the temporary population table (a number, unique within the transaction). */
  key: string;
  asOf: Date;
  settings: ScoringSettings;
  /** Wall time, for the fit reports. */
  now: Date;
  /** Score with this health model's weights and calibration (what a live run would have used); none = configured weights, no churn chance. */
  health?: HealthModel | null;
  /** Judge each customer: did they churn within the horizon after as-of? */
  label?: { churn: ChurnDefinition; horizonDays: number } | null;
  /** Replay at most about this many customers: whole batches, evenly spread over the base. */
  maxCustomers?: number;
}

export interface ReplayedCustomer {
  facts: CustomerFacts;
  /** Null when nothing was known about the customer at the date. */
  score: ComputedScore | null;
  /**
   * Churned within the horizon; null when not judged (no label asked, or —
   * for lapse — no order by the date, so nothing to lapse from).
   */
  churned: boolean | null;
  /** The replay's shared scoring inputs (models fitted as of the date). */
  inputs: RunScoringInputs;
}

export interface ReplaySummary {
  asOf: Date;
  /** Customers active at the date. */
  population: number;
  /** Customers in the batches replayed (all of the population unless sampled). */
  replayed: number;
  sampled: boolean;
  fit: FitReport;
  stale: string[];
  inputs: RunScoringInputs;
}

/** Batches to replay: all, or `wanted` evenly spread over [0, total). */
export function sampledBatches(total: number, wanted: number): number[] | null {
  if (wanted >= total) return null;
  const picked = new Set<number>();
  for (let i = 0; i < wanted; i++) picked.add(Math.floor((i * total) / wanted));
  return [...picked].sort((a, b) => a - b);
}

/** Runs `fn` in a transaction holding the temporary population table the replays write to. */
export async function inReplayTransaction<T>(db: Db, fn: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await createBacktestPopulation(trx);
    return fn(trx);
  });
}

/** One replay: every (sampled) customer of the base at the date, scored and judged, handed to `onCustomer` batch by batch. */
export async function replayAt(trx: Trx, input: ReplayInput, onCustomer: (c: ReplayedCustomer) => void): Promise<ReplaySummary> {
  const { asOf, settings, key } = input;
  const { models, report } = await modelsAsOf(trx, asOf, input.now);
  const feeds = await feedState(trx, asOf, settings.staleAfterDays);
  const population = await writePopulation(trx, {
    runId: key,
    asOf,
    select: 'base',
    batchSize: settings.batchSize,
    tiers: settings.tiers,
    table: 'bt_population',
  });
  const context: RunContext = {
    preparedAt: asOf.toISOString(),
    models: { ...models, health: input.health ? { fitId: null, model: input.health, asOf: '' } : null },
    ...feeds,
    selected: population.customers,
  };
  const inputs = runInputs(context, settings);
  const only = input.maxCustomers !== undefined ? sampledBatches(population.batches, Math.max(1, Math.ceil(input.maxCustomers / settings.batchSize))) : null;
  const batches = only ?? Array.from({ length: population.batches }, (_, i) => i);
  const memo = newPatternMemo();
  let replayed = 0;
  for (let at = 0; at < batches.length; at += 50) {
    const chunk = batches.slice(at, at + 50);
    const rows = await batchCustomerIds(trx, key, chunk[0]!, chunk[chunk.length - 1]! + 1, 'bt_population', only ? chunk : undefined);
    for (const { batch, ids } of rows) {
      const facts = await aggregateBatch(trx, { runId: key, batch, customerIds: ids, asOf, table: 'bt_population' });
      const label = input.label ?? null;
      const churned = label ? await churnedAmong(trx, ids, label.churn, asOf, label.horizonDays) : null;
      for (const f of facts) {
        const judged = churned !== null && (label!.churn === 'status' || f.x !== null);
        onCustomer({ facts: f, score: scoreCustomer(f, inputs, memo), churned: judged ? churned.has(f.customerId) : null, inputs });
      }
      replayed += ids.length;
    }
  }
  await clearBacktestPopulation(trx, key);
  return {
    asOf,
    population: population.customers,
    replayed,
    sampled: only !== null,
    fit: report,
    stale: feeds.stale.map((x) => x.text),
    inputs,
  };
}
