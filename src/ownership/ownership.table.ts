import type { Generated } from 'kysely';
import type { Timestamp } from '../customers/customer.table.js';

export type OwnershipEventKind = 'import' | 'claim' | 'assign' | 'release' | 'dispute_approved' | 'api';
export type DisputeStatus = 'open' | 'approved' | 'rejected' | 'superseded' | 'expired';

export interface OwnershipEventTable {
  id: Generated<string>;
  customer_id: string;
  kind: OwnershipEventKind;
  from_member_id: number | null;
  to_member_id: number | null;
  actor_slack_id: string | null;
  reason: string | null;
  dispute_id: string | null;
  created_at: Timestamp;
}

export interface DisputeTable {
  id: Generated<string>;
  customer_id: string;
  claimant_member_id: number;
  owner_member_id: number | null;
  reason: string | null;
  status: Generated<DisputeStatus>;
  opened_at: Timestamp;
  decided_at: Timestamp | null;
  decided_by_slack_id: string | null;
  channel_id: string | null;
  message_ts: string | null;
  escalated_at: Timestamp | null;
}
