import { sql } from 'kysely';
import type { InteractionKind } from '../feedback/feedback.table.js';
import type { DbOrTrx } from '../platform/db.js';
import type { CustomerStatus } from './customer.table.js';

/**
 * A member's book of business: the accounts they own, with the latest score
 * and the last logged touch. App Home reads the whole active book;
 * `/customer mine` pages through all of it. Plain functions, `db` or `trx`
 * first.
 */

export interface BookAccount {
  id: string;
  name: string;
  status: CustomerStatus;
  arr: number | null;
  currency: string | null;
  /** 'YYYY-MM-DD' */
  renewalDate: string | null;
  health: number | null;
  band: 'green' | 'yellow' | 'red' | null;
  tier: 'A' | 'B' | 'C' | null;
  /** The latest interaction anyone logged with the customer. */
  lastTouch: { kind: InteractionKind; at: Date } | null;
}

/** Which of a member's accounts: all of them, or only those with one status. */
export interface BookFilter {
  status?: CustomerStatus;
}

export async function countBook(db: DbOrTrx, memberId: number, filter: BookFilter = {}): Promise<number> {
  let q = db
    .selectFrom('customers')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('owner_member_id', '=', memberId);
  if (filter.status) q = q.where('status', '=', filter.status);
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A member's accounts, riskiest first (lowest health; unscored last), then by name. */
export async function listBookAccounts(db: DbOrTrx, memberId: number, opts: BookFilter & { offset?: number; limit: number }): Promise<BookAccount[]> {
  let q = db
    .selectFrom('customers as c')
    .leftJoin('customer_scores as s', 's.customer_id', 'c.id')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('interactions as i')
          .select(['i.kind', 'i.occurred_at'])
          .whereRef('i.customer_id', '=', 'c.id')
          .orderBy('i.occurred_at', 'desc')
          .limit(1)
          .as('lt'),
      (join) => join.onTrue(),
    )
    .select([
      'c.id',
      'c.name',
      'c.status',
      'c.arr',
      'c.currency',
      'c.renewal_date',
      's.health',
      's.band',
      's.tier',
      'lt.kind as last_touch_kind',
      'lt.occurred_at as last_touch_at',
    ])
    .where('c.owner_member_id', '=', memberId);
  if (opts.status) q = q.where('c.status', '=', opts.status);
  const rows = await q
    .orderBy(sql`s.health ASC NULLS LAST`)
    .orderBy('c.name')
    .orderBy('c.id')
    .offset(opts.offset ?? 0)
    .limit(opts.limit)
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
    lastTouch: r.last_touch_kind && r.last_touch_at ? { kind: r.last_touch_kind, at: new Date(r.last_touch_at) } : null,
  }));
}

/** One page of a member's whole book, with how many accounts it holds. */
export async function listBook(db: DbOrTrx, memberId: number, opts: { offset: number; limit: number }): Promise<{ total: number; accounts: BookAccount[] }> {
  const [total, accounts] = await Promise.all([countBook(db, memberId), listBookAccounts(db, memberId, opts)]);
  return { total, accounts };
}
