import { Kysely, PostgresDialect, type PostgresCursor, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import type { Database } from './database.js';
import { kyselyPoolOf, type Db } from './db.js';
import type { Logger } from './logger.js';
import { metrics } from './metrics.js';
import { currentWalLsn, primaryWalLsn, replayedWalLsn } from './replica.repository.js';

/**
 * Where reads go when DATABASE_REPLICA_URL names a streaming replica.
 *
 * Every write goes to the primary (`ctx.db`). Reads that follow no write of
 * the person asking (lookups by name, digests) go to the replica (`ctx.readDb`).
 * Reads about a customer or a person that someone just changed go to the
 * primary until the replica has replayed that change (`ctx.reads.for(...)`),
 * so whoever logged a touch or claimed an account sees it on the very next
 * card, Home or `/customer mine` whatever the replica's lag:
 *
 * - after the write commits, `ctx.reads.wrote(...)` reads the primary's WAL
 *   position (any commit that returned is at or before it) and keeps it in
 *   Redis under the customer and the person — shared by every web process,
 *   one key per EVAL (so Redis Cluster takes it), the highest position kept,
 *   expiring after READ_YOUR_WRITES_MS;
 * - a read about that customer or person compares the position with how far
 *   the replica has replayed. That figure comes from a background probe once
 *   per PROBE_MS, not from a query per request: a read right after a write
 *   goes to the primary for about the replica's lag plus one probe, and
 *   nothing more is asked of the replica.
 *
 * The keys expire, so a replica further behind than MAX_LAG_S (well under
 * their life) gets no reads at all until it catches up: a change older than
 * its key is then always replayed where reads go.
 *
 * When the replica is unreachable (refused, reset, timed out, shutting down,
 * not yet holding the database) a read goes to the primary at once, in the
 * same request; the replica is then left alone until the background probe
 * reaches it again, so later requests do not each wait on it. The change of
 * state is logged once each way, shown in /healthz as degraded (reads still
 * work) and in the retain_replica_up and retain_replica_lag_seconds gauges.
 */

/** How long a write keeps reads of its customer and person on the primary, at most. */
export const READ_YOUR_WRITES_MS = 60_000;
/** A replica further behind than this gets no reads (must stay well under READ_YOUR_WRITES_MS). */
export const MAX_LAG_S = 30;
const PROBE_MS = 1_000;
/** Per probe query: a replica that takes longer than this to say where it is counts as unreachable. */
const PROBE_TIMEOUT_MS = 1_000;

/** Whose reads must see a write: customers' ids, people's Slack user ids. */
export interface ReadSubject {
  customerIds?: readonly (string | null | undefined)[];
  userIds?: readonly (string | null | undefined)[];
}

/** Picks the handle for a read and remembers writes; on the context as `ctx.reads`. */
export interface ReadRouter {
  /** The handle for reads about these customers or people: the primary while a recent write of theirs may be missing on the replica. */
  for(subject: ReadSubject): Promise<Db>;
  /** After a write commits: reads of these customers and people stay on the primary until the replica has it. Never throws. */
  wrote(subject: ReadSubject): Promise<void>;
}

/** With no replica every read is on the primary already. */
export function primaryOnly(db: Db): ReadRouter {
  return { for: async () => db, wrote: async () => undefined };
}

/** The few Redis commands the routing uses (a single node or a cluster client). */
export interface PendingRedis {
  get(key: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export type ReplicaStatus =
  | { state: 'up'; lagSeconds: number }
  | { state: 'starting' | 'down' | 'lagging' | 'not_standby'; lagSeconds: number | null; error: string };

/** Errors that say the server cannot be reached or cannot serve this database now (SQLSTATE class 08, shutdowns, missing database). */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  if (!e) return false;
  const code = e.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'].includes(code)) return true;
  // 57P01-03: shutting down, crashed, starting up; 3D000: the database is not on the replica yet.
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '3D000'].includes(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(e.message ?? '');
}

/** A standby cancels a read that conflicts with what it replays; the primary answers it instead. */
function isRecoveryConflict(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  return e?.code === '40001' && /conflict with recovery/i.test(e.message ?? '');
}

/** Whether the replica may take reads, how far behind it is, and when it comes back; one per process. */
export class ReplicaMonitor {
  private status: ReplicaStatus = { state: 'starting', lagSeconds: null, error: 'not probed yet' };
  private replayed: bigint | null = null;
  /** The primary's position at the first probe: the replica takes no reads before it has the schema this process started on. */
  private floor: bigint | null = null;
  /** (time, primary position) samples the replica had not replayed at the last probe, oldest first. */
  private behind: { at: number; lsn: bigint }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  /** After stop, a probe still in flight meets closed pools: that is no news about the replica. */
  private stopped = false;

  constructor(
    private readonly primary: pg.Pool,
    private readonly replica: pg.Pool,
    private readonly logger: Logger,
    private readonly opts: { probeMs?: number; maxLagS?: number; now?: () => number } = {},
  ) {}

  start(): void {
    if (this.timer) return;
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.opts.probeMs ?? PROBE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopped = true;
  }

  state(): ReplicaStatus {
    return this.status;
  }

  usable(): boolean {
    return this.status.state === 'up';
  }

  /** Whether the replica had replayed `lsn` at the last probe. */
  hasReplayed(lsn: bigint): boolean {
    return this.replayed !== null && this.replayed >= lsn;
  }

  /** A read on the replica failed to connect: every read goes to the primary until a probe reaches it again. */
  failed(error: unknown): void {
    this.set({ state: 'down', lagSeconds: null, error: describe(error) });
  }

  /** Ask both servers where they are; one probe at a time. */
  probe(): Promise<void> {
    this.probing ??= this.runProbe().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private async runProbe(): Promise<void> {
    const now = this.opts.now ?? Date.now;
    let primaryLsn: bigint;
    try {
      primaryLsn = await primaryWalLsn(this.primary, PROBE_TIMEOUT_MS);
    } catch {
      return; // the primary's own trouble is /healthz's postgres check; the replica's state stays as it was
    }
    let replayed: bigint | null;
    try {
      replayed = await replayedWalLsn(this.replica, PROBE_TIMEOUT_MS);
    } catch (error) {
      this.set({ state: 'down', lagSeconds: null, error: describe(error) });
      return;
    }
    if (replayed === null) {
      this.set({ state: 'not_standby', lagSeconds: null, error: 'DATABASE_REPLICA_URL is not a streaming replica (not in recovery)' });
      return;
    }
    this.replayed = replayed;
    this.floor ??= primaryLsn;
    const at = now();
    this.behind.push({ at, lsn: primaryLsn });
    this.behind = this.behind.filter((s) => s.lsn > replayed);
    // Behind by at least the age of the oldest position the replica has not replayed.
    const lagSeconds = this.behind.length ? (at - this.behind[0]!.at) / 1000 : 0;
    metrics.replicaLag.set({}, lagSeconds);
    if (replayed < this.floor) this.set({ state: 'starting', lagSeconds, error: 'replaying up to where the primary was at start' });
    else if (lagSeconds > (this.opts.maxLagS ?? MAX_LAG_S)) this.set({ state: 'lagging', lagSeconds, error: `${Math.round(lagSeconds)} s behind the primary` });
    else this.set({ state: 'up', lagSeconds });
  }

  private set(next: ReplicaStatus): void {
    if (this.stopped) return;
    const was = this.status.state;
    this.status = next;
    metrics.replicaUp.set({}, next.state === 'up' ? 1 : 0);
    if (next.state === was) return;
    if (next.state === 'up') this.logger.info({ was }, 'read replica in use');
    else if (was === 'up' || was === 'starting') this.logger.warn({ state: next.state, error: next.error }, 'read replica not used; reads go to the primary');
  }
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e?.code ?? e?.message ?? String(error);
}

type Query = PostgresPoolClient['query'];

/**
 * A replica client that moves to the primary when the replica fails under it
 * (a connection lost, a recovery conflict): the read is run again there, and
 * the rest of this checkout stays there. Reads only — no transaction is ever
 * moved.
 */
function failoverClient(client: PostgresPoolClient, primary: PostgresPool, monitor: ReplicaMonitor): PostgresPoolClient {
  let current = client;
  let moved = false;
  let inTransaction = false;
  const query = async (text: string, values: ReadonlyArray<unknown>): Promise<PostgresQueryResult<unknown>> => {
    if (/^\s*begin\b/i.test(text)) inTransaction = true;
    if (/^\s*(commit|rollback)\b/i.test(text)) inTransaction = false;
    try {
      return await current.query(text, values);
    } catch (error) {
      if (moved || inTransaction || !(isUnavailable(error) || isRecoveryConflict(error))) throw error;
      if (isUnavailable(error)) monitor.failed(error);
      current.release();
      current = await primary.connect();
      moved = true;
      metrics.readRoute.inc({ to: 'primary', reason: 'replica_failed' });
      return current.query(text, values);
    }
  };
  return {
    query: ((textOrCursor: string | PostgresCursor<unknown>, values?: ReadonlyArray<unknown>) =>
      typeof textOrCursor === 'string' ? query(textOrCursor, values ?? []) : current.query(textOrCursor)) as Query,
    release: () => current.release(),
  };
}

/** A read handle on the replica that takes the primary whenever the replica cannot serve. */
export function routedReadDb(replica: Db, primary: Db, monitor: ReplicaMonitor): Db {
  const replicaPool = kyselyPoolOf(replica);
  const primaryPool = kyselyPoolOf(primary);
  const pool: PostgresPool = {
    async connect() {
      if (monitor.usable()) {
        try {
          return failoverClient(await replicaPool.connect(), primaryPool, monitor);
        } catch (error) {
          if (!isUnavailable(error)) throw error;
          monitor.failed(error);
          metrics.readRoute.inc({ to: 'primary', reason: 'replica_failed' });
        }
      }
      return primaryPool.connect();
    },
    // The two handles own their pools and close them.
    end: async () => undefined,
  };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

// Keeps the highest position under the key (two processes may note writes out of order) and renews its life.
const NOTE_SCRIPT = `local cur = redis.call('GET', KEYS[1])
if (not cur) or cur < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/** Positions as fixed-width hex, so Redis compares them as strings in the right order. */
const lsnKey = (lsn: bigint) => lsn.toString(16).padStart(16, '0');

function keysOf(prefix: string, subject: ReadSubject): string[] {
  const keys: string[] = [];
  for (const id of subject.customerIds ?? []) if (id) keys.push(`${prefix}:rw:c:${id}`);
  for (const id of subject.userIds ?? []) if (id) keys.push(`${prefix}:rw:u:${id}`);
  return [...new Set(keys)];
}

/** Written positions kept in this process only: for processes without Redis (one-shot CLI verbs). */
function memoryPending(): PendingRedis {
  const kept = new Map<string, { v: string; until: number }>();
  const live = (k: string) => {
    const e = kept.get(k);
    return e && e.until > Date.now() ? e.v : null;
  };
  return {
    get: async (k) => live(k),
    eval: async (_script, _n, key, value, ttlMs) => {
      const cur = live(String(key));
      kept.set(String(key), { v: cur !== null && cur > String(value) ? cur : String(value), until: Date.now() + Number(ttlMs) });
      return 1;
    },
  };
}

export interface ReadRouting {
  monitor: ReplicaMonitor;
  /** A router over one pair of handles (the context's, or the web role's request pools), sharing the monitor and the noted writes. */
  router(primary: Db, readDb: Db): ReadRouter;
}

export function createReadRouting(opts: {
  primaryPool: pg.Pool;
  replicaPool: pg.Pool;
  redis: PendingRedis | null;
  prefix: string;
  logger: Logger;
  probeMs?: number;
}): ReadRouting {
  const monitor = new ReplicaMonitor(opts.primaryPool, opts.replicaPool, opts.logger, opts.probeMs ? { probeMs: opts.probeMs } : {});
  const pending = opts.redis ?? memoryPending();
  let warned = false;
  return {
    monitor,
    router(primary, readDb) {
      return {
        async for(subject) {
          if (!monitor.usable()) {
            metrics.readRoute.inc({ to: 'primary', reason: monitor.state().state });
            return primary;
          }
          const keys = keysOf(opts.prefix, subject);
          if (keys.length) {
            let noted: (string | null)[];
            try {
              noted = await Promise.all(keys.map((k) => pending.get(k)));
            } catch {
              // Without the noted writes the primary is the only safe answer.
              metrics.readRoute.inc({ to: 'primary', reason: 'writes_unknown' });
              return primary;
            }
            const newest = noted.reduce<string | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
            if (newest !== null && !monitor.hasReplayed(BigInt(`0x${newest}`))) {
              metrics.readRoute.inc({ to: 'primary', reason: 'own_write' });
              return primary;
            }
          }
          metrics.readRoute.inc({ to: 'replica', reason: 'replayed' });
          return readDb;
        },
        async wrote(subject) {
          const keys = keysOf(opts.prefix, subject);
          if (!keys.length) return;
          try {
            const lsn = lsnKey(await currentWalLsn(primary));
            await Promise.all(keys.map((k) => pending.eval(NOTE_SCRIPT, 1, k, lsn, READ_YOUR_WRITES_MS)));
          } catch (error) {
            // The write stands; only its read-your-writes on the replica is not assured for a moment.
            if (!warned) opts.logger.warn({ err: describe(error) }, 'could not note a write for read-your-writes');
            warned = true;
          }
        },
      };
    },
  };
}
