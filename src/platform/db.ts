import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import { remainingMs } from './deadline.js';
import { BusyError } from './errors.js';
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

export interface PoolOptions {
  max?: number;
  /**
   * Server-side limit per statement (0 = none). The web role's pool sets
   * one: a query stuck behind a row lock or a slow plan is cancelled by
   * Postgres in time to tell the person "busy" — jobs keep no limit.
   */
  statementTimeoutMs?: number;
  /**
   * How long to wait for a new connection (default 2 s). A read replica's
   * pool waits less: when it is unreachable the read goes to the primary,
   * and the request must still have time for that.
   */
  connectionTimeoutMs?: number;
}

export function createPool(url: string, logger: Logger, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    // Never wait forever for a connection (pg's default): a slash command
    // must learn the database is down in time to say so within 3 seconds.
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMs ?? 0,
  });
  // Without this an idle client's error kills the process.
  pool.on('error', (err: Error & { code?: string }) => logger.warn({ code: err.code }, 'postgres idle client error'));
  return pool;
}

/** The pool behind each handle, for the few operations Kysely cannot express (COPY). */
const pools = new WeakMap<Db, pg.Pool>();
/** The same pool as Kysely sees it (bounded by the request's deadline), for handles that route between two servers. */
const kyselyPools = new WeakMap<Db, PostgresPool>();

const outOfTime = (what: string) => new BusyError(`the request ran out of time ${what}`);

/**
 * A client whose queries are bounded by the current request's deadline, on
 * the client side: a server that stops answering altogether (frozen, a
 * network partition) cannot enforce its own statement timeout. A client that
 * ran out of time is destroyed on release, never handed to the next request
 * with a query still pending (or a transaction still open) on it.
 */
function deadlineClient(client: pg.PoolClient): PostgresPoolClient {
  let spoiled = false;
  const query = (text: unknown, values?: ReadonlyArray<unknown>): unknown => {
    if (typeof text !== 'string') return client.query(text as never);
    const left = remainingMs();
    if (left === undefined) return client.query(text, values as unknown[]);
    if (spoiled || left <= 0) {
      spoiled = true;
      return Promise.reject(outOfTime('before its query was sent'));
    }
    return client.query({ text, values: values as unknown[], query_timeout: left } as pg.QueryConfig).catch((error: unknown) => {
      if ((error as Error)?.message === 'Query read timeout') spoiled = true;
      throw error;
    });
  };
  return {
    query: query as PostgresPoolClient['query'],
    release: () => client.release(spoiled ? new Error('query outlived its request deadline') : undefined),
  };
}

/** The pool as Kysely sees it: within a request, waiting for a client is bounded by the deadline too. */
function deadlinePool(pool: pg.Pool): PostgresPool {
  return {
    async connect() {
      const left = remainingMs();
      if (left === undefined) return deadlineClient(await pool.connect());
      if (left <= 0) throw outOfTime('waiting for a database connection');
      const pending = pool.connect();
      let timer: NodeJS.Timeout | undefined;
      try {
        const client = await Promise.race([
          pending,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(outOfTime('waiting for a database connection')), left);
          }),
        ]);
        return deadlineClient(client);
      } catch (error) {
        // A client that arrives after the deadline goes straight back.
        pending.then(
          (c) => c.release(),
          () => undefined,
        );
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    end: () => pool.end(),
  };
}

export function createDb(url: string, logger: Logger, opts: number | PoolOptions = {}): DbHandle {
  const pool = createPool(url, logger, typeof opts === 'number' ? { max: opts } : opts);
  const kyselyPool = deadlinePool(pool);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: kyselyPool }) });
  pools.set(db, pool);
  kyselyPools.set(db, kyselyPool);
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

/** The deadline-bounded pool Kysely runs a handle made by createDb on. */
export function kyselyPoolOf(db: Db): PostgresPool {
  const pool = kyselyPools.get(db);
  if (!pool) throw new Error('this database handle was not made by createDb');
  return pool;
}

/** The database named in the URL, and a URL to the server's maintenance database. */
export function splitDatabaseUrl(url: string): { name: string; adminUrl: string } {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  u.pathname = '/postgres';
  return { name, adminUrl: u.toString() };
}

/** Create the database when missing, so a first start needs no manual step. Safe to race: a duplicate is ignored. */
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
