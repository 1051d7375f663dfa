import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { Numeric, Timestamp } from '../customers/customer.table.js';

export type Band = 'green' | 'yellow' | 'red';
export type Tier = 'A' | 'B' | 'C';

export interface StoredDriver {
  key: string;
  direction: 'down' | 'up';
  impact: number;
  text: string;
}
export interface StoredMeasure {
  key: string;
  score: number;
  weight: number;
  /** Health points this measure moved the score from neutral. */
  impact?: number;
  /** The measure as a sentence. */
  text?: string;
}

/** What history keeps of a score: the numbers, for trends. */
interface ScoreNumbers {
  scored_at: Timestamp;
  health: number;
  band: Band;
  p_alive: number | null;
  expected_orders_90d: number | null;
  clv: Numeric | null;
  rfm_r: number | null;
  rfm_f: number | null;
  rfm_m: number | null;
  rfm_segment: string | null;
  tier: Tier | null;
  newest_data_at: Timestamp | null;
}

/** The latest score also keeps its explanation. */
interface ScoreColumns extends ScoreNumbers {
  drivers: JSONColumnType<StoredDriver[], string, string>;
  measures: JSONColumnType<StoredMeasure[], string, string>;
  stale: JSONColumnType<string[], string, string>;
}

export interface ScoreHistoryTable extends ScoreNumbers {
  run_id: string;
  customer_id: string;
}

export interface CustomerScoreTable extends ScoreColumns {
  customer_id: string;
  run_id: string;
  previous_health: number | null;
  previous_band: Band | null;
  /** Chance of churn within churn_horizon_days from the health model in use; null without one. */
  churn_probability: ColumnType<number | null, number | null | undefined, number | null>;
  churn_horizon_days: ColumnType<number | null, number | null | undefined, number | null>;
  /** The customer's data_changed_at as the scoring read saw it: the score covers every change up to it (null on older scores). */
  data_seen_at: Timestamp | null;
}

export interface ScoringRunTable {
  id: Generated<string>;
  kind: 'full' | 'incremental' | 'backtest';
  as_of: Timestamp;
  status: Generated<'running' | 'done' | 'failed'>;
  batches_total: Generated<number>;
  batches_done: Generated<number>;
  customers_scored: Generated<number>;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  /** BullMQ id of the `rescore` job that opened the run (re-runs reuse the run). */
  job_key: string | null;
  /** What every batch shares: model parameters, stale feeds, which feeds exist (see RunContext in rescore.prepare.service). */
  context: Generated<JSONColumnType<Record<string, unknown>, string, string>>;
  batches_failed: Generated<number>;
  error: string | null;
}

export interface ScoringRunBatchTable {
  run_id: string;
  batch: number;
  status: 'done' | 'failed';
  customers_scored: Generated<number>;
  error: string | null;
  finished_at: Generated<Date>;
}

/** Scratch rows of one run: the customers it scores, their batch, RFM quintiles and tier. */
export interface RunPopulationTable {
  run_id: string;
  customer_id: string;
  batch: number;
  rfm_r: number | null;
  rfm_f: number | null;
  rfm_m: number | null;
  tier: Tier | null;
}

export interface ModelFitTable {
  id: Generated<string>;
  model: 'bgnbd' | 'gammagamma' | 'health' | 'renewal';
  params: JSONColumnType<Record<string, number>, string, string>;
  /** The health and renewal models' structure (weights, segments, validation figures); null for the purchase models. */
  details: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  log_likelihood: number | null;
  customers: number;
  as_of: ColumnType<string, string, string>;
  fitted_at: Timestamp;
}
