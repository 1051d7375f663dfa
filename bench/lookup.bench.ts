/**
 * bench/lookup: p50/p99 of `/customer <query>` handling (fuzzy match + card)
 * over 10,000 customers, through the same handler Slack requests reach.
 *   npx tsx bench/lookup.bench.ts [--customers 10000] [--queries 2000]
 */
import { Readable } from 'node:stream';
import { loadConfig } from '../src/config/index.js';
import { importCustomers } from '../src/ingest/import.service.js';
import { buildContext } from '../src/main.js';
import { dropDatabase, ensureDatabase, createDb } from '../src/platform/db.js';
import { silentLogger } from '../src/platform/logger.js';
import { migrateToLatest } from '../src/platform/migrate.js';
import { createConsoleGateway } from '../src/slack/gateway.js';
import { handleCustomerCommand } from '../src/commands/customer.router.js';
import { rng } from '../src/demo/generate.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('customers', 10_000);
const Q = arg('queries', 2_000);
const WORDS = ['North', 'Blue', 'Acme', 'Globex', 'Harbor', 'Summit', 'Cobalt', 'Falcon', 'Helix', 'Juniper', 'Lumen', 'Orion', 'Quantum', 'Vertex', 'Titan', 'Nimbus', 'Sapphire', 'Granite', 'Evergreen', 'Meridian'];
const KINDS = ['Logistics', 'Analytics', 'Health', 'Foods', 'Robotics', 'Media', 'Capital', 'Labs', 'Systems', 'Retail', 'Energy', 'Software'];
const CJK = ['星河', '蓝海', '华盛', '云帆', '天启', '金桥', '青松', '东方'];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main() {
  const url = 'postgres://postgres@127.0.0.1:5432/retain_bench_lookup';
  await dropDatabase(url).catch(() => undefined);
  await ensureDatabase(url);
  const setup = createDb(url, silentLogger, 2);
  await migrateToLatest(setup.db);
  const r = rng(7);
  const names: string[] = [];
  const lines = ['external_id,name,domain,plan,arr,currency'];
  for (let i = 0; i < N; i++) {
    const name = i % 50 === 0 ? `${CJK[i % CJK.length]}${CJK[(i >> 3) % CJK.length]}科技${i}` : `${WORDS[Math.floor(r() * WORDS.length)]} ${KINDS[Math.floor(r() * KINDS.length)]} ${i}`;
    names.push(name);
    lines.push(`X${i},${name},c${i}.example.com,pro,${1000 + i},USD`);
  }
  await importCustomers(setup.db, Readable.from([lines.join('\n')]), 'customers');
  await setup.close();

  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
  const built = buildContext({ config, logger: silentLogger, withQueues: false, slack: createConsoleGateway(() => undefined) });
  const kinds = { exact: [] as number[], partial: [] as number[], typo: [] as number[], cjk: [] as number[], miss: [] as number[] };
  const queries: [keyof typeof kinds, string][] = [];
  for (let i = 0; i < Q; i++) {
    const name = names[Math.floor(r() * names.length)]!;
    const m = i % 5;
    if (m === 0) queries.push(['exact', name]);
    else if (m === 1) queries.push(['partial', name.split(' ').slice(0, 2).join(' ')]);
    else if (m === 2) queries.push(['typo', name.replace(/[aeiou]/, '')]);
    else if (m === 3) queries.push(['cjk', `${CJK[i % CJK.length]}${CJK[(i >> 2) % CJK.length]}`]);
    else queries.push(['miss', `Zyx${i} Qwv`]);
  }
  for (const [, q] of queries.slice(0, 50)) await handleCustomerCommand(built.ctx, { userId: 'U0BENCH', channelId: 'C', text: q }); // warm up
  const all: number[] = [];
  for (const [kind, q] of queries) {
    const t = performance.now();
    await handleCustomerCommand(built.ctx, { userId: 'U0BENCH', channelId: 'C', text: q });
    const ms = performance.now() - t;
    kinds[kind].push(ms);
    all.push(ms);
  }
  console.log(`bench/lookup — /customer <query> over ${N.toLocaleString()} customers, ${Q.toLocaleString()} queries (sequential, one connection pool)`);
  console.log(`  all:     p50 ${pct(all, 50).toFixed(1)} ms   p99 ${pct(all, 99).toFixed(1)} ms   max ${Math.max(...all).toFixed(1)} ms`);
  for (const [k, xs] of Object.entries(kinds)) console.log(`  ${k.padEnd(8)} p50 ${pct(xs, 50).toFixed(1)} ms   p99 ${pct(xs, 99).toFixed(1)} ms`);
  await built.close();
  await dropDatabase(url);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
