import { sql, type RawBuilder } from 'kysely';

/**
 * The whole UTC day of a timestamp as days since the epoch — floor(epoch /
 * 86400), computed as a date difference: integer arithmetic instead of the
 * numeric division `extract(epoch …)` implies (several times faster over the
 * millions of orders the population ranks).
 */
export function utcDay(col: string): RawBuilder<number> {
  return sql<number>`((${sql.ref(col)} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')`;
}
