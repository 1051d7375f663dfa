import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import type { Logger } from './logger.js';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;
/** Repositories take either a pool-backed handle or a transaction first. */
export type DbOrTrx = Kysely<Database>;

// `date` columns stay 'YYYY-MM-DD' strings: a renewal date has no time zone,
// and turning it into a JS Date at local midnight shifts it by a day somewhere.
pg.types.setTypeParser(1082, (v: string) => v);
// bigint counts (count(*)) come back as strings; ids stay strings too.

export interface DbHandle {
  db: Db;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createPool(url: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // Never wait forever for a connection (STACK.md trap 9): a slash command
    // must learn the database is down in time to say so within 3 seconds.
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 0,
  });
  // Without this an idle client's error kills the process.
  pool.on('error', (err: Error & { code?: string }) => logger.warn({ code: err.code }, 'postgres idle client error'));
  return pool;
}

/** The pool behind each handle, for the few operations Kysely cannot express (COPY). */
const pools = new WeakMap<Db, pg.Pool>();

export function createDb(url: string, logger: Logger, max = 10): DbHandle {
  const pool = createPool(url, logger, max);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return { db, pool, close: () => db.destroy() };
}

/**
 * A Kysely handle over one checked-out client, for work that mixes COPY with
 * queries in one transaction: repositories run on it like on a transaction.
 * The caller owns the client (and releases it); destroying the handle does not.
 */
export function kyselyOnClient(client: pg.PoolClient): Db {
  const single = { connect: async () => ({ query: client.query.bind(client), release: () => undefined }), end: async () => undefined };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: single as never }) });
}

/** The pg pool a handle made by createDb runs on. */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('this database handle was not made by createDb: no pool to run COPY on');
  return pool;
}

/** The database named in the URL, and a URL to the server's maintenance database. */
export function splitDatabaseUrl(url: string): { name: string; adminUrl: string } {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  u.pathname = '/postgres';
  return { name, adminUrl: u.toString() };
}

/** Create the database when missing (DESIGN.md §4). Safe to race: a duplicate is ignored. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const { name, adminUrl } = splitDatabaseUrl(url);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    } catch (e) {
      if ((e as { code?: string }).code !== '42P04' && (e as { code?: string }).code !== '23505') throw e;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const { name, adminUrl } = splitDatabaseUrl(url);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
