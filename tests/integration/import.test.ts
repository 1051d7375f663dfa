import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCustomers, importEvents } from '../../src/ingest/import.service.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { seedRoster } from '../helpers/fixtures.js';

let db: TestDb;
const csv = (text: string) => Readable.from([text]);
const count = async (table: 'customers' | 'signals' | 'ownership_events') =>
  Number((await db.db.selectFrom(table).select(db.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

beforeAll(async () => {
  db = await createTestDb('import');
  await seedRoster(db);
});
afterAll(async () => db?.drop());

const CUSTOMERS = `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
C1,Acme Corp,acme.com,pro,120000,USD,2027-03-01,U0ALICE,emea
C2,Acme Logistics,acmelog.com,basic,12x,USD,,,
C3,"Globex, Inc",globex.com,,5000,usd,2027-02-30,,
C4,,x.com,,,,,,
C5,阿里巴巴集团,alibaba.com,enterprise,900000,CNY,2027-01-15,,apac
C6,Initech,initech.com,,,,,U0NOBODY,
C7,Umbrella,umbrella.com,,,,,,mars
C8,Hooli,,,,,,,
`;

describe('import customers', () => {
  it('loads good rows and reports every bad row with its line and reason', async () => {
    const r = await importCustomers(db.db, csv(CUSTOMERS), 'customers.csv');
    expect(r.rows).toBe(8);
    expect(r.inserted).toBe(3);
    expect(r.problems).toEqual([
      { line: 3, reason: 'arr "12x" is not a number (write 12000 or 12000.50)' },
      { line: 4, reason: 'renewal_date "2027-02-30" is not an ISO date (YYYY-MM-DD)' },
      { line: 5, reason: 'name is missing' },
      { line: 7, reason: expect.stringContaining('owner U0NOBODY is not a member') },
      { line: 8, reason: expect.stringContaining('team "mars" is unknown') },
    ]);
    const acme = await db.db.selectFrom('customers').selectAll().where('external_id', '=', 'C1').executeTakeFirstOrThrow();
    expect(acme).toMatchObject({ name: 'Acme Corp', arr: '120000.00', currency: 'USD', renewal_date: '2027-03-01' });
    expect(acme.owner_since).not.toBeNull();
    const hooli = await db.db.selectFrom('customers').selectAll().where('external_id', '=', 'C8').executeTakeFirstOrThrow();
    expect(hooli).toMatchObject({ domain: null, renewal_date: null, owner_member_id: null, team_id: null });
  });

  it('changes nothing when the same file is imported again', async () => {
    const before = await db.db.selectFrom('customers').selectAll().orderBy('id').execute();
    const events = await count('ownership_events');
    const r = await importCustomers(db.db, csv(CUSTOMERS), 'customers.csv');
    expect(r).toMatchObject({ inserted: 0, updated: 0, unchanged: 3 });
    expect(await db.db.selectFrom('customers').selectAll().orderBy('id').execute()).toEqual(before);
    expect(await count('ownership_events')).toBe(events);
  });

  it('updates changed values, keeps known values for empty cells, and audits an owner change', async () => {
    const r = await importCustomers(
      db.db,
      csv('external_id,name,domain,arr,owner_slack_id\nC1,Acme Corporation,,130000,U0BOB\n'),
      'update.csv',
    );
    expect(r).toMatchObject({ inserted: 0, updated: 1 });
    const acme = await db.db.selectFrom('customers').selectAll().where('external_id', '=', 'C1').executeTakeFirstOrThrow();
    expect(acme).toMatchObject({ name: 'Acme Corporation', domain: 'acme.com', arr: '130000.00', renewal_date: '2027-03-01' });
    const audit = await db.db
      .selectFrom('ownership_events as e')
      .innerJoin('members as m', 'm.id', 'e.to_member_id')
      .leftJoin('members as f', 'f.id', 'e.from_member_id')
      .select(['e.kind', 'm.slack_user_id as to', 'f.slack_user_id as from'])
      .where('e.customer_id', '=', acme.id)
      .orderBy('e.id')
      .execute();
    expect(audit).toEqual([
      { kind: 'import', to: 'U0ALICE', from: null },
      { kind: 'import', to: 'U0BOB', from: 'U0ALICE' },
    ]);
  });

  it('rejects a file without the required header columns, loading nothing', async () => {
    await expect(importCustomers(db.db, csv('id,title\n1,x\n'), 'bad.csv')).rejects.toThrow('header is missing column(s) external_id, name');
  });
});

describe('import events', () => {
  const EVENTS = `customer_external_id,kind,occurred_at,value,external_id
C1,order,2026-01-10,1200.50,inv-1
C1,usage,2026-01-10T08:00:00Z,42,
C1,usage,2026-01-10T08:00:00Z,42,
C5,nps,2026-02-01,9,
C1,refund,2026-01-10,5,
C1,usage,yesterday,5,
C9,usage,2026-01-10,5,
C1,nps,2026-02-01,12,
`;
  it('loads good rows, merges exact duplicates, reports bad and unknown-customer rows by line', async () => {
    const r = await importEvents(db.pool, csv(EVENTS), 'events.csv');
    expect(r.rows).toBe(8);
    expect(r.inserted).toBe(3);
    expect(r.problems).toEqual([
      { line: 6, reason: expect.stringContaining('kind "refund" is unknown') },
      { line: 7, reason: expect.stringContaining('occurred_at "yesterday"') },
      { line: 8, reason: expect.stringContaining('customer C9 is unknown') },
      { line: 9, reason: expect.stringContaining('outside 0–10') },
    ]);
    expect(await count('signals')).toBe(3);
  });

  it('is idempotent: a second import adds nothing', async () => {
    const r = await importEvents(db.pool, csv(EVENTS), 'events.csv');
    expect(r.inserted).toBe(0);
    expect(await count('signals')).toBe(3);
  });

  it('marks customers with new signals as changed, for the incremental rescore', async () => {
    await db.db.updateTable('customers').set({ data_changed_at: new Date('2020-01-01') }).execute();
    await importEvents(db.pool, csv('customer_external_id,kind,occurred_at\nC5,ticket,2026-03-01\n'), 'more.csv');
    const rows = await db.db.selectFrom('customers').select(['external_id', 'data_changed_at']).orderBy('external_id').execute();
    const changed = rows.filter((r) => new Date(r.data_changed_at).getFullYear() > 2020).map((r) => r.external_id);
    expect(changed).toEqual(['C5']);
  });

  it('loads 20,000 rows in bulk in one pass', async () => {
    const lines = ['customer_external_id,kind,occurred_at,value,external_id'];
    for (let i = 0; i < 20_000; i++) lines.push(`C8,usage,2026-04-01T00:00:${String(i % 60).padStart(2, '0')}Z,${i},bulk-${i}`);
    const r = await importEvents(db.pool, csv(`${lines.join('\n')}\n`), 'bulk.csv');
    expect(r).toMatchObject({ rows: 20_000, inserted: 20_000, problems: [] });
  });
});
