import type { AlertTable, NotificationTable, RenewalTable } from '../alerts/alert.table.js';
import type { CustomerTable, MemberTable, TeamTable } from '../customers/customer.table.js';
import type { FeedbackTable, InteractionTable } from '../feedback/feedback.table.js';
import type { SegmentUserTable, StripeCustomerTable, StripeEventTable } from '../ingest/ingest.table.js';
import type { SignalTable } from '../ingest/signal.table.js';
import type { DisputeTable, OwnershipEventTable } from '../ownership/ownership.table.js';
import type { CustomerScoreTable, ModelFitTable, RunPopulationTable, ScoreHistoryTable, ScoringRunBatchTable, ScoringRunTable } from '../scores/score.table.js';

/** The Kysely schema: one entry per table, row types live with their feature. */
export interface Database {
  teams: TeamTable;
  members: MemberTable;
  customers: CustomerTable;
  signals: SignalTable;
  feedback: FeedbackTable;
  interactions: InteractionTable;
  model_fits: ModelFitTable;
  scoring_runs: ScoringRunTable;
  score_history: ScoreHistoryTable;
  customer_scores: CustomerScoreTable;
  scoring_run_batches: ScoringRunBatchTable;
  run_population: RunPopulationTable;
  ownership_events: OwnershipEventTable;
  disputes: DisputeTable;
  renewals: RenewalTable;
  alerts: AlertTable;
  notifications: NotificationTable;
  segment_users: SegmentUserTable;
  stripe_customers: StripeCustomerTable;
  stripe_events: StripeEventTable;
}
