import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCompiledCli } from '../helpers/compiled-cli.js';
import { createTestDb, REDIS_URL, queuePrefix, cleanQueuePrefix, type TestDb } from '../helpers/db.js';

/** The `retain` binary as a user runs it: a child process, real files, exit codes. */
const run = promisify(execFile);
let db: TestDb;
let prefix: string;
const dir = mkdtempSync(join(tmpdir(), 'retain-cli-'));

async function retain(args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run('node', ['bin/retain.js', ...args], {
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
  db = await createTestDb('cli');
  prefix = queuePrefix('cli');
});
afterAll(async () => {
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

describe('retain CLI', () => {
  it('sets up a team and a member, imports with bad rows reported by line, and answers a lookup', async () => {
    expect((await retain(['team', 'add', 'emea', '--name', 'EMEA', '--channel', 'C0EMEA', '--tz', 'Europe/Berlin'])).stdout).toContain('team emea (EMEA)');
    expect((await retain(['member', 'add', 'U0ALICE', '--team', 'emea', '--role', 'rep'])).stdout).toContain('member U0ALICE: rep in emea');

    const file = join(dir, 'customers.csv');
    writeFileSync(file, 'external_id,name,arr,renewal_date,owner_slack_id,team\nC1,Acme Corp,120000,2027-03-01,U0ALICE,emea\nC2,Bad Arr,12x,,,\nC3,,5,,,\n');
    const imported = await retain(['import', 'customers', file]);
    expect(imported.code).toBe(3);
    expect(imported.stdout).toContain('3 row(s) read, 1 loaded');
    expect(imported.stdout).toContain('line 3: arr "12x" is not a number');
    expect(imported.stdout).toContain('line 4: name is missing');

    const events = join(dir, 'events.csv');
    writeFileSync(events, 'customer_external_id,kind,occurred_at,value\nC1,usage,2026-11-01,12\nC1,usage,not-a-date,3\n');
    const ev = await retain(['import', 'events', events]);
    expect(ev.stdout).toContain('line 3: occurred_at "not-a-date" is not an ISO date or timestamp');

    const lookup = await retain(['slash', '/customer acme', '--as', 'U0ALICE']);
    expect(lookup.code).toBe(0);
    expect(lookup.stdout).toContain('== Acme Corp ==');
    expect(lookup.stdout).toContain('Owner: @U0ALICE');
  }, 120_000);

  it("moves a team's digest schedule when its time zone changes", async () => {
    const { Queue } = await import('bullmq');
    const { JOBS } = await import('../../src/jobs/catalog.js');
    const { Redis } = await import('ioredis');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(JOBS.digest.queue, { connection, prefix });
    try {
      await retain(['team', 'add', 'apac', '--name', 'APAC', '--tz', 'Asia/Shanghai', '--digest-hour', '8']);
      const digestOf = async () => (await queue.getJobSchedulers(0, -1, true)).filter((s) => s.name === 'digest');
      const before = await digestOf();
      await retain(['team', 'add', 'apac', '--name', 'APAC', '--tz', 'America/New_York', '--digest-hour', '10']);
      const after = await digestOf();
      expect(after).toHaveLength(before.length);
      const moved = after.find((s) => s.tz === 'America/New_York');
      expect(moved?.pattern).toBe('0 10 * * *');
      expect(after.some((s) => s.tz === 'Asia/Shanghai')).toBe(false);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }, 120_000);

  it('explains bad usage with the right form, and --help on every verb', async () => {
    const bad = await retain(['member', 'add', 'U0BOB', '--team', 'emea', '--role', 'boss']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role must be one of rep, manager, admin');
    expect(bad.stderr).toContain('Usage: retain member add');
    for (const verb of [
      ['migrate'],
      ['import', 'customers'],
      ['import', 'events'],
      ['team', 'add'],
      ['member', 'add'],
      ['slash'],
      ['demo'],
      ['start'],
      ['web'],
      ['worker'],
    ]) {
      const help = await retain([...verb, '--help']);
      expect(help.code, verb.join(' ')).toBe(0);
      expect(help.stdout).toContain(`Usage: retain ${verb.join(' ')}`);
    }
  }, 120_000);

  it('stops with one line naming a bad environment variable', async () => {
    const r = await retain(['migrate'], { PORT: 'eighty' });
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toEqual(['invalid environment variable PORT: must be a port number (1–65535)']);
  });
});

describe('retain start', () => {
  it('serves /healthz and shuts down cleanly on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('node', ['bin/retain.js', 'start'], {
      env: { ...process.env, DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no port announced: ${stderr}`)), 60_000);
      child.stderr.on('data', () => {
        const m = /running on port (\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
