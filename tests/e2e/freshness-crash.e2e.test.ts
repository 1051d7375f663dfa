import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { startWorkerProcess } from '../helpers/worker-process.js';
import { seedRoster } from '../helpers/fixtures.js';
import { slash, until } from '../helpers/interact.js';
import { visibleText } from '../helpers/text.js';
import { loadBook, plantedBook } from '../integration/rescore.book.js';

/**
 * The web role takes the data; real worker processes score it. A change is
 * queued as a delayed (debounced) job: until a worker runs it, the card says
 * the score is on its way; a worker killed between the enqueue and the run
 * loses nothing — the next worker scores the change.
 */
const TOKEN = 'freshness-crash-token-0123456789';
const now = new Date();
let app: TestApp;
let configPath: string;
const children: ChildProcess[] = [];

function startWorker(): Promise<ChildProcess> {
  return startWorkerProcess(app, children, { RETAIN_CONFIG: configPath });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function post(path: string, items: unknown[]): Promise<{ accepted: number }> {
  const res = await fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(items),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { accepted: number };
}

/** Whether the customer's score has read its latest change. */
async function scoreCurrent(externalId: string): Promise<boolean> {
  const r = await sql<{ current: boolean | null }>`
    SELECT s.data_seen_at >= c.data_changed_at AS current
    FROM customers c LEFT JOIN customer_scores s ON s.customer_id = c.id WHERE c.external_id = ${externalId}`.execute(app.db.db);
  return r.rows[0]?.current === true;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retain-freshness-crash-'));
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ schedules: { debounceMs: 1_500 } }));
  // Web role only: this process takes the data, the child processes score it.
  app = await startTestApp('freshcrash', { roles: ['web'], env: { RETAIN_CONFIG: configPath, API_TOKEN: TOKEN } });
  await seedRoster(app.db);
  await loadBook(app.db, plantedBook(now), now);
});

afterAll(async () => {
  for (const c of children) await kill(c);
  await app?.stop();
});

describe('changes scored by worker processes', () => {
  it('while the rescore of a new customer is queued the card says it is scoring now; a worker then scores it', async () => {
    expect((await post('/api/v1/customers', [{ external_id: 'NEWCO', name: 'Newco Fresh', arr: 50_000, currency: 'USD' }])).accepted).toBe(1);
    const at = new Date(Date.now() - 3600_000).toISOString();
    expect(
      (await post('/api/v1/events', [{ customer_external_id: 'NEWCO', kind: 'usage', occurred_at: at, value: 40, external_id: 'newco-u1' }])).accepted,
    ).toBe(1);

    const waiting = visibleText(await slash(app, '/customer', 'Newco Fresh', 'U0ALICE'));
    expect(waiting).toMatch(/Not scored yet\._ ⏳ Scoring now — back in a few seconds/);
    expect(waiting).not.toMatch(/next scoring run/);

    await startWorker();
    const scored = await until(async () => {
      const text = visibleText(await slash(app, '/customer', 'Newco Fresh', 'U0ALICE'));
      return /\*Health \d+\*/.test(text) ? text : null;
    }, 60_000);
    expect(scored).not.toMatch(/Scoring now/);
    // No full run existed: the first change-driven run was a full one, and scored the whole book.
    const first = await app.db.db.selectFrom('scoring_runs').select(['kind', 'customers_scored']).orderBy('id').executeTakeFirstOrThrow();
    expect(first.kind).toBe('full');
    expect(first.customers_scored).toBeGreaterThanOrEqual(31);
  }, 90_000);

  it('SIGKILL of the worker between the enqueue and the run loses nothing: the change is scored after the restart', async () => {
    await until(() => scoreCurrent('THRIVE'), 30_000);
    const worker = children.at(-1)!;
    const at = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
    const complaints = [1, 2, 3].map((h) => ({ customer_external_id: 'THRIVE', kind: 'complaint', occurred_at: at(h), external_id: `thrive-kill-${h}` }));
    expect((await post('/api/v1/events', complaints)).accepted).toBe(3);
    // The rescore waits out its debounce in Redis; the worker dies before it runs.
    await kill(worker);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await scoreCurrent('THRIVE')).toBe(false);

    await startWorker();
    await until(() => scoreCurrent('THRIVE'), 60_000);
    const thrive = await app.db.db
      .selectFrom('customer_scores as s')
      .innerJoin('customers as c', 'c.id', 's.customer_id')
      .select('s.drivers')
      .where('c.external_id', '=', 'THRIVE')
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(thrive.drivers)).toMatch(/3 complaints in 30 days/);
  }, 90_000);
});
