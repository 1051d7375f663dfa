import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';

/** Queries for the App Home: plain functions, `db` or `trx` first. */

export interface HomeAccount {
  id: string;
  name: string;
  status: 'active' | 'churned';
  arr: number | null;
  currency: string | null;
  /** 'YYYY-MM-DD' */
  renewalDate: string | null;
  health: number | null;
  band: 'green' | 'yellow' | 'red' | null;
  tier: 'A' | 'B' | 'C' | null;
  lastTouchAt: Date | null;
}

/** A member's whole book (active accounts), with the latest score and last touch by anyone. */
export async function listOwnedAccounts(db: DbOrTrx, memberId: number, limit = 2_000): Promise<HomeAccount[]> {
  const rows = await db
    .selectFrom('customers as c')
    .leftJoin('customer_scores as s', 's.customer_id', 'c.id')
    .select(['c.id', 'c.name', 'c.status', 'c.arr', 'c.currency', 'c.renewal_date', 's.health', 's.band', 's.tier'])
    .select((eb) =>
      eb.selectFrom('interactions as i').select(sql<Date>`max(i.occurred_at)`.as('t')).whereRef('i.customer_id', '=', 'c.id').as('last_touch_at'),
    )
    .where('c.owner_member_id', '=', memberId)
    .where('c.status', '=', 'active')
    .orderBy('c.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    status: r.status,
    arr: r.arr === null ? null : Number(r.arr),
    currency: r.currency,
    renewalDate: r.renewal_date,
    health: r.health,
    band: r.band,
    tier: r.tier,
    lastTouchAt: r.last_touch_at ? new Date(r.last_touch_at) : null,
  }));
}
