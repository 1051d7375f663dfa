import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCompiledCli, ROOT } from '../helpers/compiled-cli.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';
import { loadCustomersCsv, seedRoster } from '../helpers/fixtures.js';

/** The compiled `retain` binary (dist/), as an operator runs it after `npm install`. */
const run = promisify(execFile);
const BIN = join(ROOT, 'bin', 'retain.js');
const dir = mkdtempSync(join(tmpdir(), 'retain-bin-'));
let db: TestDb;
let prefix: string;

async function retain(args: string[], env: Record<string, string> = {}, bin = BIN) {
  try {
    const r = await run('node', [bin, ...args], {
      env: { ...process.env, DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  await buildCompiledCli();
  db = await createTestDb('bin');
  prefix = queuePrefix('bin');
  await seedRoster(db);
  await loadCustomersCsv(
    db,
    'external_id,name,domain,arr,currency,renewal_date,owner_slack_id,team\nC1,Acme Corp,acme.com,120000,USD,2027-03-01,U0ALICE,emea\n',
  );
});
afterAll(async () => {
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

describe('the compiled retain binary', () => {
  it('answers --help with every verb', async () => {
    const help = await retain(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: retain <command> [options]');
    for (const verb of ['demo', 'migrate', 'start', 'slash', 'rescore', 'import customers']) expect(help.stdout).toContain(`  ${verb} `);
  });

  it('runs a slash command against the database and prints the card', async () => {
    const r = await retain(['slash', '/customer acme', '--as', 'U0ALICE']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('== Acme Corp ==');
    expect(r.stdout).toContain('Owner: @U0ALICE');
    expect(r.stdout).toContain('Team: EMEA');
  });

  it('runs a long verb (import) under the RETAIN_HEAP_MB cap, and a short one (slash) without a second process', async () => {
    // A preload in every Node process of the command reports its heap limit.
    const probe = join(dir, 'heap-probe.cjs');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the probe script is JavaScript source with its own template literal
    writeFileSync(probe, "process.stderr.write(`heap-limit-mb ${Math.round(require('node:v8').getHeapStatistics().heap_size_limit / 1048576)}\\n`);\n");
    const csv = join(dir, 'more.csv');
    writeFileSync(csv, 'external_id,name\nC2,Initech\n');
    const limits = (stderr: string) => [...stderr.matchAll(/heap-limit-mb (\d+)/g)].map((m) => Number(m[1]));

    const imported = await retain(['import', 'customers', csv], { NODE_OPTIONS: `--require ${probe}`, RETAIN_HEAP_MB: '160' });
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('1 loaded');
    const importLimits = limits(imported.stderr);
    expect(importLimits).toHaveLength(2); // the launcher, then the capped process doing the work
    expect(Math.min(...importLimits)).toBeLessThanOrEqual(160 + 64); // old space plus the young generation
    expect(Math.max(...importLimits)).toBeGreaterThan(160 + 64);

    const lookup = await retain(['slash', '/customer initech', '--as', 'U0ALICE'], { NODE_OPTIONS: `--require ${probe}` });
    expect(lookup.stdout).toContain('== Initech ==');
    expect(limits(lookup.stderr)).toHaveLength(1);
  });

  it('says in one line how to build when dist/ is missing', async () => {
    const bare = join(dir, 'checkout', 'bin');
    mkdirSync(bare, { recursive: true });
    copyFileSync(BIN, join(bare, 'retain.js'));
    const r = await retain(['--help'], {}, join(bare, 'retain.js'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([`retain: the compiled CLI (dist/) is missing; build it with \`npm run build\` in ${join(dir, 'checkout')}`]);
  });
});
