import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';
import { loadBook, plantedBook } from './rescore.book.js';

const now = new Date();
let db: TestDb;
let prefix: string;
const saved: Record<string, string | undefined> = {};

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  db = await createTestDb('rescore_cli');
  await loadBook(db, plantedBook(now), now);
  prefix = queuePrefix('rescorecli');
  const env = { DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent', RETAIN_CONFIG: '' };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

describe('retain rescore / fit / backtest', () => {
  it('`retain rescore` runs one full run and prints customers scored, time, bands and band changes', async () => {
    const first = await cli('rescore');
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^full run \d+ done: 30 customers scored in \d+\.\d+s \(1 batch\)/m);
    expect(first.out).toMatch(/^bands: green \d+, yellow \d+, red \d+$/m);
    const bands = /bands: green (\d+), yellow (\d+), red (\d+)/.exec(first.out)!.slice(1).map(Number);
    expect(bands.reduce((a, b) => a + b, 0)).toBe(30);
    expect(first.out).toMatch(/^changed band: 0 \(first score for 30\)$/m);

    // SLIP gets much worse: it changes band on the next run.
    await db.db.updateTable('customers').set({ arr: '1000' }).where('external_id', '=', 'SLIP').execute();
    const second = await cli('rescore');
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/^full run \d+ done: 30 customers scored/m);
    expect(second.out).toMatch(/^changed band: \d+$/m);
  });

  it('`retain rescore --incremental` scores only what changed', async () => {
    // Everything was loaded well before the last run, except THRIVE's new data.
    await db.db
      .updateTable('customers')
      .set({ data_changed_at: new Date(Date.now() - 3600_000) })
      .execute();
    await db.db.updateTable('customers').set({ data_changed_at: new Date() }).where('external_id', '=', 'THRIVE').execute();
    const r = await cli('rescore', '--incremental');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^incremental run \d+ done: 1 customer scored/m);
  });

  it('`retain fit --as-of DATE` prints each model’s parameters, log-likelihood and customers seen', async () => {
    const date = new Date(now.getTime() - 10 * 86_400_000).toISOString().slice(0, 10);
    const r = await cli('fit', '--as-of', date);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`model fit as of ${date} — 30 customers with orders (time unit: weeks)`);
    expect(r.out).toMatch(/BG\/NBD: r=\S+ alpha=\S+ a=\S+ b=\S+ +log-likelihood -\d+\.\d+ +customers 30 +patterns \d+/);
    expect(r.out).toMatch(/Gamma-Gamma: p=\S+ q=\S+ gamma=\S+ +log-likelihood -\d+\.\d+ +customers \d+/);
    expect(r.out).toMatch(/stored as fit \d+|stays in use/);
    // The health model follows, fitted on the same history, with the reason its weights are (or are not) used.
    expect(r.out).toContain(`health model as of ${date}`);
    expect(r.out).toMatch(/using the configured weights: |USING LEARNED WEIGHTS: /);
  });

  it('`retain backtest --churn` accepts status or lapse only', async () => {
    const r = await cli('backtest', '--as-of', '2026-01-01', '--churn', 'sometimes');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--churn must be status or lapse');
  });

  it('`retain backtest --as-of DATE --horizon 90` prints AUC and the warning’s precision and recall', async () => {
    const date = new Date(now.getTime() - 120 * 86_400_000).toISOString().slice(0, 10);
    await db.db
      .updateTable('customers')
      .set({ status: 'churned', churned_at: new Date(now.getTime() - 60 * 86_400_000) })
      .where('external_id', 'in', ['F00', 'F03'])
      .execute();
    const r = await cli('backtest', '--as-of', date, '--horizon', '90');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`backtest as of ${date}, horizon 90 days`);
    expect(r.out).toMatch(/churned within the horizon: 2 /);
    expect(r.out).toMatch(/AUC \(risk = 100 − health\): [01]\.\d{3}/);
    expect(r.out).toMatch(/churn warning as configured: precision (\d+\.\d%|n\/a), recall \d+\.\d%/);
  });

  it('`retain backtest` without a date says what is missing', async () => {
    const r = await cli('backtest');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--as-of is required');
    expect(r.err).toContain('Usage: retain backtest --as-of YYYY-MM-DD');
    const bad = await cli('backtest', '--as-of', '2026-02-30');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('"2026-02-30" is not a calendar date');
  });
});

describe('start-up validation of the scoring config', () => {
  const write = (json: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'retain-cfg-'));
    const file = join(dir, 'retain.json');
    writeFileSync(file, JSON.stringify(json));
    return file;
  };

  it('a bad weight stops start-up with a line naming the setting', async () => {
    process.env.RETAIN_CONFIG = write({ scoring: { weights: { engagement: -1 } } });
    try {
      const r = await cli('worker');
      expect(r.code).toBe(78);
      expect(r.err).toMatch(/scoring\.weights\.engagement: must be ≥ 0/);
    } finally {
      process.env.RETAIN_CONFIG = '';
    }
  });

  it('bands the wrong way round stop start-up with a line naming the setting', async () => {
    process.env.RETAIN_CONFIG = write({ scoring: { bands: { green: 40, red: 60 } } });
    try {
      const r = await cli('start');
      expect(r.code).toBe(78);
      expect(r.err).toMatch(/scoring\.bands: red threshold must be below green threshold/);
    } finally {
      process.env.RETAIN_CONFIG = '';
    }
  });
});
