/**
 * bench/lookup: latency of the customer lookup (the repository function every
 * `/customer <query>` goes through) per query kind, on generated books of
 * 10k / 100k / 1M customers, measured right after `retain import customers`
 * loaded the book — no VACUUM or ANALYZE beyond what the import itself does.
 *
 *   npx tsx bench/lookup.bench.ts [--sizes 10000,100000,1000000] [--queries 2000] [--keep] [--reuse] [--replica]
 *
 * The book and the query mix come from bench/book.ts (names from thousands of
 * stems, ~5% Chinese, diacritics, ~1.4% shared names; queries 30% exact names,
 * 20% prefixes, 20% one-character typos, 15% domains, 15% misses). Each query
 * is resolved as the service does: candidates, then the nearest names when
 * nothing plausible matched. Queries run one at a time on one connection.
 *
 * --keep leaves the last database (retain_bench_lookup) for inspection;
 * --reuse skips the import when that database already holds the book.
 * --replica streams a replica of the whole local cluster first (the test
 * harness: pg_basebackup -R on a free port; it needs root or the postgres
 * user, and the primary must accept replication connections — .ci/run adds
 * that), reports how far it fell behind during the import and how long it
 * took to catch up after, then runs the same queries on the primary and on
 * the replica (through the routed read handle the app uses) and prints both;
 * the replica is stopped and removed at the end. With --under-load N (and
 * --replica), the query mix runs again while `retain import events` loads N
 * events (default 1,000,000) into the primary (in a child process of its own,
 * so the load never stalls the measuring process), each query on the primary
 * and on the replica in turn, for as long as the import runs.
 * The HTTP open-loop variant (signed `/customer` requests against `retain web`)
 * can reuse `prepareBook` and `queryMix`.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { sql } from 'kysely';
import { lookupCandidates, nearestNames } from '../src/customers/customer.repository.js';
import { decideLookup } from '../src/customers/lookup.rules.js';
import { upsertMember, upsertTeam } from '../src/customers/roster.repository.js';
import { importCustomers, importEvents } from '../src/ingest/import.service.js';
import { createDb, dropDatabase, ensureDatabase, type DbHandle } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { migrateToLatest } from '../src/platform/migrate.js';
import { ReplicaMonitor, routedReadDb } from '../src/platform/read-routing.js';
import { startReplica, type PgReplica } from '../tests/helpers/pg-replica.js';
import { BOOK_OWNERS, BOOK_TEAM, bookCsv, customerAt, externalIdAt, queryMix, type QueryKind } from './company-book.js';

export { queryMix, QUERY_MIX, bookCsv } from './company-book.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const SIZES = opt('sizes', '10000,100000,1000000').split(',').map(Number);
const QUERIES = Number(opt('queries', '2000'));
const WARMUP = Number(opt('warmup', '30'));
const KEEP = args.includes('--keep');
const REUSE = args.includes('--reuse');
const REPLICA = args.includes('--replica');
const UNDER_LOAD = args.includes('--under-load') ? Number(opt('under-load', '1000000')) : 0;
export const BENCH_DB_URL = 'postgres://postgres@127.0.0.1:5432/retain_bench_lookup';

export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** A fresh database holding a book of `size` customers, imported through the real CSV import. */
export async function prepareBook(url: string, size: number, reuse = false): Promise<{ handle: DbHandle; importMs: number | null }> {
  if (reuse) {
    const handle = createDb(url, silentLogger, 2);
    const n = await sql<{ n: string }>`SELECT count(*) AS n FROM customers`.execute(handle.db).catch(() => null);
    if (n && Number(n.rows[0]!.n) === size) return { handle, importMs: null };
    await handle.close();
  }
  await dropDatabase(url).catch(() => undefined);
  await ensureDatabase(url);
  const handle = createDb(url, silentLogger, 2);
  await migrateToLatest(handle.db);
  const team = await upsertTeam(handle.db, { key: BOOK_TEAM, name: 'Book', channelId: 'C0BOOK', tz: 'UTC' });
  for (const u of BOOK_OWNERS) await upsertMember(handle.db, { slackUserId: u, teamId: team.id, role: 'rep', alertChannelId: null });
  const t = performance.now();
  const report = await importCustomers(handle.db, bookCsv(size), `book-${size}.csv`);
  if (report.problems.length) throw new Error(`book import rejected ${report.problems.length} rows: ${report.problems[0]!.reason}`);
  return { handle, importMs: performance.now() - t };
}

type Db = DbHandle['db'];

interface Stats {
  byKind: Map<QueryKind, number[]>;
  byMatch: Map<string, number[]>;
  found: Map<QueryKind, number>;
  all: number[];
}

/**
 * Runs the query mix one query at a time, each query on every target in turn
 * (the first target alternating), so all of them meet the same load; stops
 * early when `until` says so. Prints p50/p99 per query kind and per match kind.
 */
async function runQueries(targets: { label: string; db: Db }[], size: number, note: string, until?: () => boolean): Promise<void> {
  const queries = queryMix(size, QUERIES, 11 + size);
  for (const t of targets) for (const q of queryMix(size, WARMUP, 5)) await lookupCandidates(t.db, q.text); // warm the connections and the caches a little
  const stats: Stats[] = targets.map(() => ({ byKind: new Map(), byMatch: new Map(), found: new Map(), all: [] }));
  let run = 0;
  for (const q of queries) {
    if (until?.()) break;
    run++;
    for (let k = 0; k < targets.length; k++) {
      const i = (k + run) % targets.length;
      const db = targets[i]!.db;
      const st = stats[i]!;
      const t = performance.now();
      const r = await lookupCandidates(db, q.text);
      const decision = decideLookup(r.candidates);
      if (decision.kind === 'none' && decision.nearest.length === 0) await nearestNames(db, q.text);
      const ms = performance.now() - t;
      if (ms > 250) console.log(`  slow: ${targets[i]!.label} ${ms.toFixed(0)} ms at ${new Date().toISOString()} (${q.kind}, match ${r.match})`);
      st.all.push(ms);
      (st.byKind.get(q.kind) ?? st.byKind.set(q.kind, []).get(q.kind)!).push(ms);
      (st.byMatch.get(r.match) ?? st.byMatch.set(r.match, []).get(r.match)!).push(ms);
      // Found: the customer the query came from is shown (card) or offered (choice); a miss is found when nothing is.
      const wanted = q.from === null ? null : customerAt(q.from).externalId;
      const shown = decision.kind === 'card' ? [decision.customer] : decision.kind === 'choose' ? decision.matches : [];
      const ok = wanted === null ? shown.length === 0 : shown.some((c) => c.externalId === wanted) || (q.kind !== 'typo' && shown.some((c) => c.score >= 1));
      if (ok) st.found.set(q.kind, (st.found.get(q.kind) ?? 0) + 1);
    }
  }
  targets.forEach(({ label }, i) => {
    const { all, byKind, byMatch, found } = stats[i]!;
    console.log(`  ${label}${note}: ${all.length} queries, one at a time`);
    console.log(`  all       p50 ${pct(all, 50).toFixed(2)} ms   p99 ${pct(all, 99).toFixed(2)} ms   max ${Math.max(...all).toFixed(1)} ms`);
    for (const [kind, xs] of byKind) {
      console.log(
        `  ${kind.padEnd(9)} p50 ${pct(xs, 50).toFixed(2).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms   found ${(((found.get(kind) ?? 0) / xs.length) * 100).toFixed(1)}% of ${xs.length}`,
      );
    }
    console.log('  by match kind:');
    for (const [m, xs] of byMatch)
      console.log(`  ${m.padEnd(13)} p50 ${pct(xs, 50).toFixed(2).padStart(7)} ms   p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms   n ${xs.length}`);
  });
}

/** `count` usage and order events over the first `customers` book customers, as a CSV stream. */
async function* eventsCsv(count: number, customers: number): AsyncGenerator<string> {
  let buf = 'customer_external_id,kind,occurred_at,value,external_id\n';
  const start = Date.UTC(2025, 5, 1);
  for (let i = 0; i < count; i++) {
    const at = new Date(start + (i % 46_656_000) * 1000).toISOString();
    buf += `${externalIdAt((i * 7919) % customers)},${i % 4 ? 'usage' : 'order'},${at},${i % 97},\n`;
    if (buf.length > 1 << 20) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/**
 * How far the replica is behind while `work` runs: WAL bytes not yet replayed
 * and the monitor's lag in seconds (sampled every 250 ms), then how long it
 * takes to replay everything the primary had when `work` ended.
 */
async function watchLag<T>(replica: PgReplica, work: () => Promise<T>): Promise<T> {
  const primary = createDb('postgres://postgres@127.0.0.1:5432/postgres', silentLogger, 1);
  const standby = createDb(replica.url('postgres'), silentLogger, 1);
  const monitor = new ReplicaMonitor(primary.pool, standby.pool, silentLogger, { probeMs: 250, maxLagS: Number.POSITIVE_INFINITY });
  let maxBytes = 0;
  let maxSeconds = 0;
  const behind = async () => {
    const r = await standby.pool.query<{ bytes: string }>(`SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint AS bytes`, [
      (await primary.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn,
    ]);
    return Math.max(0, Number(r.rows[0]!.bytes));
  };
  monitor.start();
  const sampler = setInterval(() => {
    void behind()
      .then((b) => {
        maxBytes = Math.max(maxBytes, b);
        maxSeconds = Math.max(maxSeconds, monitor.state().lagSeconds ?? 0);
      })
      .catch(() => undefined);
  }, 250);
  try {
    const out = await work();
    const ended = performance.now();
    const atEnd = await behind();
    await replica.caughtUp(600_000);
    console.log(
      `  replica during the work: at most ${(maxBytes / 2 ** 20).toFixed(0)} MB of WAL and ${maxSeconds.toFixed(1)} s behind; at its end ${(atEnd / 2 ** 20).toFixed(1)} MB behind, caught up ${((performance.now() - ended) / 1000).toFixed(1)} s later`,
    );
    return out;
  } finally {
    clearInterval(sampler);
    monitor.stop();
    await primary.close();
    await standby.close();
  }
}

/** The events import, in a child process (the same file with --load-child): the measuring process only waits for it. */
async function loadInChild(url: string, events: number, customers: number): Promise<number> {
  const proc = fork(fileURLToPath(import.meta.url), ['--load-child', url, String(events), String(customers)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  const [code] = await once(proc, 'exit');
  if (code !== 0) throw new Error(`the load child exited with ${code}`);
  return Number(out.trim().split('\n').at(-1));
}

async function loadChild(url: string, events: number, customers: number): Promise<void> {
  const handle = createDb(url, silentLogger, 2);
  const report = await importEvents(handle.pool, eventsCsv(events, customers), 'load.csv');
  await handle.close();
  process.stdout.write(`${report.inserted}\n`);
}

async function main() {
  const child = args.indexOf('--load-child');
  if (child >= 0) return loadChild(args[child + 1]!, Number(args[child + 2]), Number(args[child + 3]));
  const replica = REPLICA ? await startReplica() : null;
  try {
    for (const size of SIZES) {
      const url = BENCH_DB_URL;
      const prepare = () => prepareBook(url, size, REUSE);
      console.log(`bench/lookup — ${size.toLocaleString()} customers`);
      const { handle, importMs } = replica ? await watchLag(replica, prepare) : await prepare();
      console.log(
        importMs === null
          ? '  book reused'
          : `  imported in ${(importMs / 1000).toFixed(1)} s (${Math.round(size / (importMs / 1000)).toLocaleString()} rows/s)`,
      );
      if (!replica) await runQueries([{ label: 'primary', db: handle.db }], size, '');
      else {
        // The app's read path: the replica's own pool under the routing handle, its monitor probing as in production.
        const standby = createDb(replica.url('retain_bench_lookup'), silentLogger, 2);
        const monitor = new ReplicaMonitor(handle.pool, standby.pool, silentLogger);
        monitor.start();
        for (let i = 0; i < 100 && !monitor.usable(); i++) await new Promise((r) => setTimeout(r, 100));
        if (!monitor.usable()) throw new Error(`the replica is not usable: ${JSON.stringify(monitor.state())}`);
        const targets = [
          { label: 'primary', db: handle.db },
          { label: 'replica', db: routedReadDb(standby.db, handle.db, monitor) },
        ];
        await runQueries(targets, size, '');
        if (UNDER_LOAD) {
          let done = false;
          const started = performance.now();
          const loop = monitorEventLoopDelay({ resolution: 10 });
          loop.enable();
          const load = watchLag(replica, () => loadInChild(url, UNDER_LOAD, Math.min(size, 100_000))).finally(() => {
            done = true;
          });
          await runQueries(targets, size, ` during an import of ${UNDER_LOAD.toLocaleString()} events`, () => done);
          const inserted = await load;
          loop.disable();
          console.log(
            `  events import: ${inserted.toLocaleString()} rows in ${((performance.now() - started) / 1000).toFixed(1)} s (with the queries beside it); this process's event loop stalled at most ${(loop.max / 1e6).toFixed(0)} ms`,
          );
        }
        monitor.stop();
        await standby.close();
      }
      await handle.close();
      if (!KEEP) await dropDatabase(url);
    }
  } finally {
    if (replica) {
      // What the replica logged about slow statements and waits on replay.
      const log = await readFile(join(replica.dir, 'server.log'), 'utf8').catch(() => '');
      const lines = log.split('\n').filter((l) => /duration:|conflict|lock|waiting|DETAIL/i.test(l));
      if (lines.length)
        console.log(
          `  replica log (${lines.length} lines on slow statements or waits):\n${lines
            .slice(0, 12)
            .map((l) => `    ${l.slice(0, 240)}`)
            .join('\n')}`,
        );
      await replica.destroy();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
