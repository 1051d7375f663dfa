/**
 * bench/import: the real `retain import customers|events` path (CSV → COPY →
 * set-based merge → ANALYZE) on generated files.
 *
 *   npx tsx bench/import.bench.ts [--customers 1000000] [--events 1000000] [--event-customers 100000] [--big-events 0]
 *                                 [--only customers|events] [--heap-mb 256] [--keep]
 *
 * 1. A book of --customers customers (bench/book.ts: varied names, ~5%
 *    Chinese, diacritics, shared names, domains, owners) is written to a CSV
 *    and imported into an empty database, then imported again (idempotent:
 *    nothing changes). Rows/s and the peak RSS of the importing process.
 * 2. --events events over the first --event-customers of those customers
 *    (ten per customer by default, as in a usage export; a file touching
 *    every customer once also marks every customer changed), imported twice
 *    the same way.
 * 3. With --big-events N, a further file of N events (new ones) on top, to
 *    see whether the rate holds as the signals table grows.
 *
 * Each import runs in a child process of its own, so its peak RSS
 * (getrusage maxrss) is the import's alone; like `retain import`, with a
 * bounded V8 heap (--heap-mb, default 256; 0 for V8's own sizing). Targets: customers ≥ 50,000
 * rows/s, re-import ≥ 100,000 rows/s, events ≥ 50,000 rows/s, RSS ≤ 300 MB.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { upsertMember, upsertTeam } from '../src/customers/roster.repository.js';
import { importCustomers, importEvents, type ImportReport } from '../src/ingest/import.service.js';
import { createDb, dropDatabase, ensureDatabase } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { migrateToLatest } from '../src/platform/migrate.js';
import { BOOK_OWNERS, BOOK_TEAM, bookCsv, externalIdAt } from './company-book.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const DB_URL = 'postgres://postgres@127.0.0.1:5432/retain_bench_import';
const KINDS = ['usage', 'usage', 'usage', 'order', 'ticket', 'complaint', 'nps'] as const;

interface ChildResult {
  ms: number;
  maxRssMb: number;
  /** CPU seconds of this process and of its database backends. */
  nodeCpu: number;
  pgCpu: number;
  phases: string;
  report: Omit<ImportReport, 'problems'> & { problems: number; firstProblem: string | null };
}

/**
 * CPU seconds used by the Postgres backends serving `database` (Linux /proc):
 * on a shared machine the wall time of a load depends on the neighbours, the
 * work it costs does not.
 */
function backendCpuSeconds(database: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.startsWith('postgres:') || !cmd.includes(` ${database} `)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}

/** In a child process: import one file, print the result as JSON. */
async function child(kind: 'customers' | 'events', file: string): Promise<void> {
  const handle = createDb(DB_URL, silentLogger, 2);
  const t = performance.now();
  const timing = new Map<string, number>();
  const onPhase = (phase: string, ms: number) => timing.set(phase, (timing.get(phase) ?? 0) + ms);
  const report =
    kind === 'customers' ? await importCustomers(handle.db, file, file, { onPhase }) : await importEvents(handle.pool, file, file, 'csv', { onPhase });
  const ms = performance.now() - t;
  const pgCpu = backendCpuSeconds('retain_bench_import');
  await handle.close();
  const out: ChildResult = {
    ms,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    nodeCpu: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    pgCpu,
    phases: [...timing].map(([p, t]) => `${p} ${(t / 1000).toFixed(1)} s`).join(', '),
    report: {
      ...report,
      problems: report.problems.length,
      firstProblem: report.problems[0] ? `line ${report.problems[0].line}: ${report.problems[0].reason}` : null,
    },
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function runChild(kind: 'customers' | 'events', file: string): Promise<ChildResult> {
  // As `retain import` runs it (bin/retain.js bounds the heap of imports and long-running roles).
  const heapMb = Number(opt('heap-mb', '256'));
  const execArgv = heapMb > 0 ? [...process.execArgv, `--max-old-space-size=${heapMb}`] : process.execArgv;
  const proc = fork(fileURLToPath(import.meta.url), ['--child', kind, file], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], execArgv });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  const [code] = await once(proc, 'exit');
  if (code !== 0) throw new Error(`import child exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
}

async function writeFile(file: string, chunks: AsyncIterable<string>): Promise<number> {
  const out = createWriteStream(file);
  for await (const c of chunks) if (!out.write(c)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  return statSync(file).size / 1e6;
}

/** `count` events from `from` on, over `customers` book customers, time-ordered like an export. */
async function* eventsCsv(count: number, customers: number, from = 0): AsyncGenerator<string> {
  let buf = 'customer_external_id,kind,occurred_at,value,external_id\n';
  const start = Date.UTC(2025, 5, 1);
  const span = 540 * 86_400;
  for (let i = from; i < from + count; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const at = new Date(start + Math.floor((i / (from + count)) * span) * 1000 + (i % 997) * 1000).toISOString();
    const value = kind === 'nps' ? String(i % 11) : kind === 'usage' ? String(i % 97) : kind === 'order' ? `${(i % 1000) + 0.5}` : '';
    buf += `${externalIdAt((i * 7919) % customers)},${kind},${at},${value},${i % 3 === 0 ? `ev-${i}` : ''}\n`;
    if (buf.length > 1 << 20) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

function line(label: string, rows: number, r: ChildResult): string {
  const rate = Math.round(rows / (r.ms / 1000)).toLocaleString();
  const p = r.report;
  return `  ${label.padEnd(22)} ${(r.ms / 1000).toFixed(2).padStart(7)} s  ${rate.padStart(9)} rows/s  peak RSS ${r.maxRssMb.toFixed(0)} MB  CPU node ${r.nodeCpu.toFixed(1)} s + postgres ${r.pgCpu.toFixed(1)} s  (new ${p.inserted.toLocaleString()}, updated ${p.updated.toLocaleString()}, unchanged ${p.unchanged.toLocaleString()}, rejected ${p.problems}${p.firstProblem ? `: ${p.firstProblem}` : ''})\n${' '.repeat(26)}${r.phases}`;
}

async function main(): Promise<void> {
  const customers = Number(opt('customers', '1000000'));
  const events = Number(opt('events', '1000000'));
  const bigEvents = Number(opt('big-events', '0'));
  const eventCustomers = Math.min(customers, Number(opt('event-customers', '100000')));
  const only = opt('only', 'all');

  await dropDatabase(DB_URL).catch(() => undefined);
  await ensureDatabase(DB_URL);
  const handle = createDb(DB_URL, silentLogger, 2);
  await migrateToLatest(handle.db);
  const team = await upsertTeam(handle.db, { key: BOOK_TEAM, name: 'Book', channelId: 'C0BOOK', tz: 'UTC' });
  for (const u of BOOK_OWNERS) await upsertMember(handle.db, { slackUserId: u, teamId: team.id, role: 'rep', alertChannelId: null });
  await handle.close();

  const dir = mkdtempSync(join(tmpdir(), 'retain-bench-import-'));
  try {
    const custFile = join(dir, 'customers.csv');
    const custMb = await writeFile(custFile, bookCsv(customers));
    console.log(`bench/import — ${customers.toLocaleString()} customers (${custMb.toFixed(0)} MB CSV)`);
    const first = await runChild('customers', custFile);
    console.log(line('customers, first', customers, first));
    if (only !== 'events') {
      const again = await runChild('customers', custFile);
      console.log(line('customers, re-import', customers, again));
    }
    if (only === 'customers') return;

    const evFile = join(dir, 'events.csv');
    const evMb = await writeFile(evFile, eventsCsv(events, eventCustomers));
    console.log(`  events: ${events.toLocaleString()} rows (${evMb.toFixed(0)} MB CSV) over ${eventCustomers.toLocaleString()} customers`);
    const ev = await runChild('events', evFile);
    console.log(line('events, first', events, ev));
    const evAgain = await runChild('events', evFile);
    console.log(line('events, re-import', events, evAgain));

    if (bigEvents > 0) {
      const bigFile = join(dir, 'events-big.csv');
      const bigMb = await writeFile(bigFile, eventsCsv(bigEvents, eventCustomers, events));
      console.log(`  events: a further ${bigEvents.toLocaleString()} rows (${bigMb.toFixed(0)} MB CSV)`);
      const big = await runChild('events', bigFile);
      console.log(line('events, large file', bigEvents, big));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (!args.includes('--keep')) await dropDatabase(DB_URL);
  }
}

if (args[0] === '--child') {
  child(args[1] as 'customers' | 'events', args[2]!).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
