import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDb } from '../helpers/db.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { slash } from '../helpers/interact.js';
import { replicaOf, type PgReplica } from '../helpers/pg-replica.js';
import { visibleText } from '../helpers/text.js';

/**
 * The app with DATABASE_REPLICA_URL on a real streaming replica of the test
 * cluster (the `replica` project's global setup starts it). Pausing replay
 * shows where each read goes: what the primary gets afterwards is missing on
 * the replica. The last test stops the replica (this is its only file).
 */
let app: TestApp;
let replica: PgReplica;

const header = (r: { blocks: any[] }) => r.blocks[0]?.text?.text as string | undefined;

async function health(): Promise<{ status: number; body: any }> {
  const res = await fetch(`${app.baseUrl}/healthz`);
  return { status: res.status, body: await res.json() };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  replica = replicaOf(inject('replica'));
  const db = await createTestDb('lookup_replica');
  await seedRoster(db);
  await loadCustomersCsv(db, sampleCustomers());
  await replica.caughtUp();
  app = await startTestApp('lookup_replica', { db, env: { DATABASE_REPLICA_URL: replica.url(db.name) } });
  // Reads move to the replica once the app has seen it replay what the primary had at start.
  await until(async () => (await health()).body.checks.replica?.ok === true, 'the replica in use');
});
afterAll(async () => {
  await replica?.resumeReplay().catch(() => undefined);
  await app?.stop();
  await app?.db.drop();
});

describe('/customer with a streaming replica', () => {
  it('looks customers up on the replica: one imported while replay is paused is not found until replay resumes', async () => {
    expect(header(await slash(app, '/customer', 'globex', 'U0ALICE'))).toBe('Globex');
    await replica.pauseReplay();
    await loadCustomersCsv(
      app.db,
      'external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team\nZ1,Zephyr Robotics,zephyr.example,pro,40000,USD,,U0ALICE,emea\n',
    );
    expect(visibleText(await slash(app, '/customer', 'zephyr robotics', 'U0ALICE'))).toContain('No customer matches');
  });

  it('shows a person their own write at once while the replica has not replayed it', async () => {
    const logged = await slash(app, '/customer', 'log globex call walked through the renewal quote', 'U0ALICE');
    expect(visibleText(logged)).toContain('Logged a *call* with *Globex*');
    const card = await slash(app, '/customer', 'globex', 'U0ALICE');
    expect(header(card)).toBe('Globex');
    expect(visibleText(card)).toContain('walked through the renewal quote');
  });

  it('lists an account just claimed in the person’s /customer mine while the replica has not replayed it', async () => {
    expect(visibleText(await slash(app, '/customer', 'claim acme logistics', 'U0BOB'))).toContain('You own *Acme Logistics* now');
    const mine = await slash(app, '/customer', 'mine', 'U0BOB');
    expect(header(mine)).toBe('My accounts (2)');
    expect(visibleText(mine)).toContain('Acme Logistics');
  });

  it('finds the new customer once replay resumes', async () => {
    await replica.resumeReplay();
    await replica.caughtUp();
    await until(async () => header(await slash(app, '/customer', 'zephyr robotics', 'U0ALICE')) === 'Zephyr Robotics', 'Zephyr on the replica');
  });

  it('answers from the primary when the replica is down, and /healthz says degraded', async () => {
    await replica.stop();
    const card = await slash(app, '/customer', 'globex', 'U0BOB');
    expect(header(card)).toBe('Globex');
    expect(visibleText(card)).toContain('walked through the renewal quote');
    expect(header(await slash(app, '/customer', 'zephyr robotics', 'U0BOB'))).toBe('Zephyr Robotics');
    const h = await health();
    expect(h.status).toBe(200);
    expect(h.body.status).toBe('degraded');
    expect(h.body.checks.replica.ok).toBe(false);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^retain_replica_up 0$/m);
  });
});
