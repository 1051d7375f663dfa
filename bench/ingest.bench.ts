/**
 * bench/ingest: sustained POST /api/v1/events (batches of 500 unique events)
 * against the real web role on loopback, measured with autocannon; then the
 * CSV COPY import of the same number of events as the ceiling, and the ratio
 * (target: the API within 3× of COPY).
 *
 *   npx tsx bench/ingest.bench.ts [--duration 20] [--connections 4] [--batch 500] [--customers 2000]
 *
 * The app runs in a child process (its own event loop and CPU, as in
 * production); autocannon and the batch generator run in this one. Everything
 * is bounded: one database created and dropped, a fixed duration, loopback only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';

// autocannon ships no types; the part used here.
interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  setupRequest: (req: Record<string, unknown>) => Record<string, unknown>;
  onResponse: (status: number, body: string) => void;
}
interface AutocannonResult {
  duration: number;
  requests: { total: number };
  latency: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: {
  url: string;
  connections: number;
  duration: number;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION = arg('duration', 20);
const CONNECTIONS = arg('connections', 4);
const BATCH = arg('batch', 500);
const CUSTOMERS = arg('customers', 2_000);
const TOKEN = 'bench-ingest-token-0123456789';
const DB_URL = 'postgres://postgres@127.0.0.1:5432/retain_bench_ingest';
const KINDS = ['usage', 'usage', 'usage', 'order', 'ticket', 'complaint', 'nps'] as const;
const SPAN_START = Date.UTC(2025, 5, 1);
const SPAN_SECONDS = 540 * 86_400;

/** The i-th event of the run, the same for the API and the CSV: customer, kind, time, value, unique id. */
function eventFields(i: number, tag: string): [string, string, string, string, string] {
  const kind = KINDS[i % KINDS.length]!;
  const at = new Date(SPAN_START + ((i * 7919) % SPAN_SECONDS) * 1000).toISOString();
  const value = kind === 'nps' ? String(i % 11) : kind === 'usage' ? String(i % 97) : kind === 'order' ? `${(i % 1000) + 0.5}` : '';
  return [`B${i % CUSTOMERS}`, kind, at, value, `${tag}-${i}`];
}

// ───────────────────────── child: the app ─────────────────────────

async function serve(): Promise<void> {
  const { loadConfig } = await import('../src/config/index.js');
  const { start } = await import('../src/main.js');
  const config = loadConfig({ DATABASE_URL: DB_URL, API_TOKEN: TOKEN, LOG_LEVEL: 'warn', RETAIN_QUEUE_PREFIX: 'retain_bench_ingest' });
  const running = await start({ roles: ['web'], config, port: 0, migrate: false });
  process.send!({ port: running.port });
  process.on('message', async (m) => {
    if (m === 'stop') {
      await running.stop();
      process.exit(0);
    }
  });
}

// ───────────────────────── parent: the bench ─────────────────────────

async function main(): Promise<void> {
  const { createDb, dropDatabase, ensureDatabase } = await import('../src/platform/db.js');
  const { silentLogger } = await import('../src/platform/logger.js');
  const { migrateToLatest } = await import('../src/platform/migrate.js');
  const { importCustomers, importEvents } = await import('../src/ingest/import.service.js');

  await dropDatabase(DB_URL).catch(() => undefined);
  await ensureDatabase(DB_URL);
  const handle = createDb(DB_URL, silentLogger, 4);
  let child: ChildProcess | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'retain-bench-ingest-'));
  try {
    await migrateToLatest(handle.db);
    const custCsv = ['external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team'];
    for (let i = 0; i < CUSTOMERS; i++) custCsv.push(`B${i},Bench Customer ${i},bench${i}.example.com,pro,${1000 + (i % 500) * 100},USD,,,`);
    await importCustomers(handle.db, Readable.from([custCsv.join('\n')]), 'customers');

    child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];

    // Each request carries BATCH events no request has sent before: the bench measures inserts, not conflicts.
    let next = 0;
    let accepted = 0;
    let rejectedItems = 0;
    const body = () => {
      const from = next;
      next += BATCH;
      const items: string[] = [];
      for (let i = from; i < from + BATCH; i++) {
        const [c, kind, at, value, id] = eventFields(i, 'api');
        items.push(
          `{"customer_external_id":"${c}","kind":"${kind}","occurred_at":"${at}","value":${value === '' ? 'null' : `"${value}"`},"external_id":"${id}"}`,
        );
      }
      return `[${items.join(',')}]`;
    };
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      duration: DURATION,
      requests: [
        {
          method: 'POST',
          path: '/api/v1/events',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          setupRequest: (req) => ({ ...req, body: body() }),
          onResponse: (status, resBody) => {
            if (status !== 200) return;
            const r = JSON.parse(resBody) as { accepted: number; rejected: unknown[] };
            accepted += r.accepted;
            rejectedItems += r.rejected.length;
          },
        },
      ],
    });
    child.send('stop');
    await once(child, 'exit');
    child = null;

    const stored = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM signals WHERE source = 'api'`.execute(handle.db)).rows[0]!.n);
    const apiRate = accepted / result.duration;

    // The ceiling: the same number of events through the CSV COPY import, into an equally empty table.
    await sql`TRUNCATE signals`.execute(handle.db);
    const file = join(dir, 'events.csv');
    const out = createWriteStream(file);
    out.write('customer_external_id,kind,occurred_at,value,external_id\n');
    let buf = '';
    for (let i = 0; i < accepted; i++) {
      buf += `${eventFields(i, 'csv').join(',')}\n`;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await once(out, 'drain');
        buf = '';
      }
    }
    out.end(buf);
    await once(out, 'finish');
    const t0 = performance.now();
    const imported = await importEvents(handle.pool, file, 'events.csv');
    const copySeconds = (performance.now() - t0) / 1000;
    const copyRate = imported.inserted / copySeconds;

    console.log(
      `bench/ingest — POST /api/v1/events, ${BATCH} events per request, ${CONNECTIONS} connections, ${result.duration.toFixed(1)} s, ${CUSTOMERS.toLocaleString()} customers, loopback`,
    );
    console.log(
      `  requests:        ${result.requests.total.toLocaleString()} (${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
    console.log(
      `  API accepted:    ${accepted.toLocaleString()} events = ${Math.round(apiRate).toLocaleString()} events/s (in the table: ${stored.toLocaleString()} incl. requests cut off at the end; rejected items: ${rejectedItems})`,
    );
    console.log(`  latency/request: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`);
    console.log(
      `  CSV COPY import: ${imported.inserted.toLocaleString()} events in ${copySeconds.toFixed(2)} s = ${Math.round(copyRate).toLocaleString()} events/s`,
    );
    console.log(`  ratio:           COPY is ${(copyRate / apiRate).toFixed(2)}× the API (target ≤ 3×) ${copyRate / apiRate <= 3 ? '✓' : '✗'}`);
    // Requests still in flight when the clock ran out were committed but never counted: stored ≥ accepted.
    if (stored < accepted) console.log(`  ✗ stored (${stored}) < accepted (${accepted}): an accepted item was lost`);
  } finally {
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
    await handle.close();
    await dropDatabase(DB_URL).catch(() => undefined);
  }
}

(process.argv.includes('--serve') ? serve() : main()).catch((e) => {
  console.error(e);
  process.exit(1);
});
