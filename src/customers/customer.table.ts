import type { ColumnType, Generated, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** pg returns numeric as string; we keep it a string at the edge and convert in services. */
type Numeric = ColumnType<string, string | number, string | number>;
/** Dates (`date` columns) are read as 'YYYY-MM-DD' strings (see platform/db.ts type parser). */
type DateOnly = ColumnType<string, string, string>;

export type Role = 'rep' | 'manager' | 'admin';

export interface TeamTable {
  id: Generated<number>;
  key: string;
  name: string;
  channel_id: string | null;
  tz: Generated<string>;
  digest_hour: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MemberTable {
  id: Generated<number>;
  slack_user_id: string;
  team_id: number;
  role: Role;
  alert_channel_id: string | null;
  display_name: string | null;
  active: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type CustomerStatus = 'active' | 'churned';

export interface CustomerTable {
  id: Generated<string>;
  external_id: string;
  name: string;
  domain: string | null;
  plan: string | null;
  arr: Numeric | null;
  currency: string | null;
  renewal_date: DateOnly | null;
  owner_member_id: number | null;
  owner_since: Timestamp | null;
  team_id: number | null;
  status: Generated<CustomerStatus>;
  churned_at: Timestamp | null;
  /** Contract start (the renewal model's tenure); null = unknown. */
  started_at: Timestamp | null;
  data_changed_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type Team = Selectable<TeamTable>;
export type Member = Selectable<MemberTable>;
export type CustomerRow = Selectable<CustomerTable>;
export type { Timestamp, Numeric, DateOnly };
