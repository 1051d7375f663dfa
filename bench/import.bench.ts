/**
 * bench/import: time `retain import events` (the real CSV → COPY → merge path)
 * for 1,000,000 rows, first load and idempotent re-load. Generates its data.
 *   npx tsx bench/import.bench.ts [--rows 1000000] [--customers 10000]
 */
import { createWriteStream, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { importCustomers, importEvents } from '../src/ingest/import.service.js';
import { createDb, dropDatabase, ensureDatabase } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { migrateToLatest } from '../src/platform/migrate.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROWS = arg('rows', 1_000_000);
const CUSTOMERS = arg('customers', 10_000);
const KINDS = ['usage', 'usage', 'usage', 'order', 'ticket', 'complaint', 'nps'];

async function main() {
  const url = `postgres://postgres@127.0.0.1:5432/retain_bench_import`;
  await dropDatabase(url).catch(() => undefined);
  await ensureDatabase(url);
  const handle = createDb(url, silentLogger, 4);
  await migrateToLatest(handle.db);

  const dir = mkdtempSync(join(tmpdir(), 'retain-bench-'));
  const custCsv = ['external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team'];
  for (let i = 0; i < CUSTOMERS; i++) custCsv.push(`B${i},Bench Customer ${i},bench${i}.example.com,pro,${1000 + (i % 500) * 100},USD,2027-0${1 + (i % 9)}-15,,`);
  await importCustomers(handle.db, Readable.from([custCsv.join('\n')]), 'customers');

  const file = join(dir, 'events.csv');
  const out = createWriteStream(file);
  out.write('customer_external_id,kind,occurred_at,value,external_id\n');
  const start = Date.UTC(2025, 5, 1);
  let buf = '';
  for (let i = 0; i < ROWS; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const at = new Date(start + ((i * 7919) % (540 * 86_400)) * 1000).toISOString();
    const value = kind === 'nps' ? String(i % 11) : kind === 'usage' ? String(i % 97) : kind === 'order' ? `${(i % 1000) + 0.5}` : '';
    buf += `B${i % CUSTOMERS},${kind},${at},${value},${i % 3 === 0 ? `ev-${i}` : ''}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  const mb = statSync(file).size / 1e6;

  const t0 = performance.now();
  const first = await importEvents(handle.pool, file, 'events.csv');
  const firstMs = performance.now() - t0;
  const t1 = performance.now();
  const again = await importEvents(handle.pool, file, 'events.csv');
  const againMs = performance.now() - t1;

  console.log(`bench/import — ${ROWS.toLocaleString()} event rows (${mb.toFixed(0)} MB CSV), ${CUSTOMERS.toLocaleString()} customers`);
  console.log(`  first import:  ${(firstMs / 1000).toFixed(2)} s  (${Math.round(ROWS / (firstMs / 1000)).toLocaleString()} rows/s), inserted ${first.inserted.toLocaleString()}, rejected ${first.problems.length}`);
  console.log(`  re-import:     ${(againMs / 1000).toFixed(2)} s  (inserted ${again.inserted}, unchanged ${again.unchanged.toLocaleString()})`);
  console.log(`  peak RSS:      ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  await handle.close();
  await dropDatabase(url);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
