import { Readable } from 'node:stream';
import { sql } from 'kysely';
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
    const r = await importCustomers(db.db, csv('external_id,name,domain,arr,owner_slack_id\nC1,Acme Corporation,,130000,U0BOB\n'), 'update.csv');
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

  it('says an empty file is empty, and reads a header-only file as no rows', async () => {
    await expect(importCustomers(db.db, csv(''), 'empty.csv')).rejects.toThrow('empty.csv: the file is empty');
    await expect(importEvents(db.pool, csv(''), 'empty.csv')).rejects.toThrow('empty.csv: the file is empty');
    expect(await importCustomers(db.db, csv('external_id,name\n'), 'header.csv')).toMatchObject({ rows: 0, loaded: 0, problems: [] });
  });

  it('rejects a file without the required header columns, loading nothing', async () => {
    await expect(importCustomers(db.db, csv('id,title\n1,x\n'), 'bad.csv')).rejects.toThrow('header is missing column(s) external_id, name');
  });
});

describe('contract start and churn columns', () => {
  const CONTRACTS = `external_id,name,started_at,churned_at
K1,Keystone Freight,2024-02-01,
K2,Kestrel Dental,2023-06-15,2026-06-15
K3,Kinetic Wares,2025-01-01T09:30:00Z,
K4,Kite Labs,2025-13-01,
K5,Koala Books,2026-05-01,2026-01-01
`;
  const contractOf = (externalId: string) =>
    db.db.selectFrom('customers').select(['status', 'started_at', 'churned_at']).where('external_id', '=', externalId).executeTakeFirstOrThrow();

  it('loads when a contract began and when it ended: a churn date makes the customer churned; bad dates are reported by line', async () => {
    const r = await importCustomers(db.db, csv(CONTRACTS), 'contracts.csv');
    expect(r.inserted).toBe(3);
    expect(r.problems).toEqual([
      { line: 5, reason: 'started_at "2025-13-01" is not an ISO date (YYYY-MM-DD or a full timestamp)' },
      { line: 6, reason: 'churned_at 2026-01-01 is before started_at 2026-05-01' },
    ]);
    expect(await contractOf('K1')).toMatchObject({ status: 'active', churned_at: null, started_at: new Date('2024-02-01T00:00:00Z') });
    expect(await contractOf('K2')).toMatchObject({ status: 'churned', churned_at: new Date('2026-06-15T00:00:00Z') });
    expect((await contractOf('K3')).started_at).toEqual(new Date('2025-01-01T09:30:00Z'));
  });

  it('never un-churns on an empty cell, changes nothing on a re-import, and churns a customer later given a date', async () => {
    const again = await importCustomers(db.db, csv(CONTRACTS), 'contracts.csv');
    expect(again.updated).toBe(0);
    const later = await importCustomers(db.db, csv('external_id,name,churned_at\nK1,Keystone Freight,2026-11-30\nK2,Kestrel Dental,\n'), 'later.csv');
    expect(later.updated).toBe(1);
    expect(await contractOf('K1')).toMatchObject({
      status: 'churned',
      churned_at: new Date('2026-11-30T00:00:00Z'),
      started_at: new Date('2024-02-01T00:00:00Z'),
    });
    expect(await contractOf('K2')).toMatchObject({ status: 'churned', churned_at: new Date('2026-06-15T00:00:00Z') });
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
    await db.db
      .updateTable('customers')
      .set({ data_changed_at: new Date('2020-01-01') })
      .execute();
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

describe('import edge cases', () => {
  it('reports an unclosed quote on its line and still loads the rows after it', async () => {
    const text = `external_id,name,domain
Q1,"Quote Corp,quote.com
Q2,Second Row,second.com
Q3,"Third, Inc",third.com
`;
    const r = await importCustomers(db.db, csv(text), 'quote.csv');
    expect(r.problems).toEqual([{ line: 2, reason: expect.stringContaining('never closed') }]);
    expect(r).toMatchObject({ rows: 3, inserted: 2 });
    const names = await db.db.selectFrom('customers').select('name').where('external_id', 'in', ['Q1', 'Q2', 'Q3']).orderBy('external_id').execute();
    expect(names.map((n) => n.name)).toEqual(['Second Row', 'Third, Inc']);
  });

  it('rejects a megabyte cell instead of storing it, and quotes a bad value by a short prefix only', async () => {
    const huge = 'p'.repeat(1_000_000);
    const badDomain = `not a domain ${'x'.repeat(1_500)}`;
    const r = await importCustomers(
      db.db,
      csv(`external_id,name,plan,domain\nBIG1,Big Plan,${huge},\nBIG2,Bad Domain,,"${badDomain}"\nBIG3,Fine,pro,\n`),
      'big.csv',
    );
    expect(r.problems).toEqual([
      { line: 2, reason: 'plan is longer than 100 characters' },
      { line: 3, reason: expect.stringMatching(/^domain "not a domain x+…" is not a domain name/) },
    ]);
    expect(r.problems[1]!.reason.length).toBeLessThan(120);
    const stored = await db.db.selectFrom('customers').select(['external_id', 'plan']).where('external_id', 'like', 'BIG%').execute();
    expect(stored).toEqual([{ external_id: 'BIG3', plan: 'pro' }]);
  });

  it('uses the later row of an external id repeated in the file and reports the earlier one', async () => {
    const r = await importCustomers(db.db, csv('external_id,name,plan\nDUP1,First,basic\nDUP1,Second,pro\nDUP1,Third,enterprise\n'), 'dup.csv');
    expect(r.problems).toEqual([
      { line: 2, reason: 'external_id DUP1 appears again on line 3; the later row was used' },
      { line: 3, reason: 'external_id DUP1 appears again on line 4; the later row was used' },
    ]);
    const row = await db.db.selectFrom('customers').select(['name', 'plan']).where('external_id', '=', 'DUP1').executeTakeFirstOrThrow();
    expect(row).toEqual({ name: 'Third', plan: 'enterprise' });
  });

  it('keeps the search columns of imported customers in step with their names', async () => {
    await importCustomers(db.db, csv('external_id,name\nS1,Société Générale\nS2,星河科技有限公司\n'), 's.csv');
    await importCustomers(db.db, csv('external_id,name\nS1,Müller & Søn\n'), 's2.csv');
    const rows = await db.db
      .selectFrom('customers')
      .select(['external_id', sql<string>`search_name`.as('search_name'), sql<string | null>`search_grams`.as('search_grams')])
      .where('external_id', 'in', ['S1', 'S2'])
      .orderBy('external_id')
      .execute();
    expect(rows).toEqual([
      { external_id: 'S1', search_name: 'muller son', search_grams: null },
      { external_id: 'S2', search_name: '星河科技有限公司', search_grams: '星河 河科 科技 技有 有限 限公 公司' },
    ]);
    const words = await sql<{ word: string }>`SELECT word FROM customer_words WHERE word IN ('muller', 'societe', '星河科技有限公司') ORDER BY word`.execute(
      db.db,
    );
    expect(words.rows.map((w) => w.word)).toEqual(['muller', 'societe', '星河科技有限公司']);
  });

  it('leaves fresh planner statistics behind', async () => {
    const { rows } = await sql<{ relname: string; analyzed: boolean }>`
      SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname IN ('customers', 'customer_words', 'signals') ORDER BY relname`.execute(
      db.db,
    );
    expect(rows).toEqual([
      { relname: 'customer_words', analyzed: true },
      { relname: 'customers', analyzed: true },
      { relname: 'signals', analyzed: true },
    ]);
  });
});

describe('initial load of a large book', () => {
  let big: TestDb;
  const indexes = async () =>
    (await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'customers' ORDER BY indexname`.execute(big.db)).rows.map(
      (r) => r.indexdef,
    );
  beforeAll(async () => {
    big = await createTestDb('import_initial');
  });
  afterAll(async () => big?.drop());

  it('builds the indexes after the rows, ends with the same indexes, and stays idempotent', async () => {
    const before = await indexes();
    const lines = ['external_id,name,domain,owner_slack_id'];
    for (let i = 0; i < 3_000; i++) lines.push(`L${i},Load Test ${i % 7 === 0 ? 'Müller' : 'Acme'} ${i},l${i}.example.com,`);
    const r = await importCustomers(big.db, csv(`${lines.join('\n')}\n`), 'initial.csv', { initialLoadMinRows: 1_000 });
    expect(r).toMatchObject({ rows: 3_000, inserted: 3_000, problems: [] });
    expect(await indexes()).toEqual(before);
    const again = await importCustomers(big.db, csv(`${lines.join('\n')}\n`), 'initial.csv', { initialLoadMinRows: 1_000 });
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 3_000 });
    const hit = await sql<{ external_id: string }>`SELECT external_id FROM customers WHERE search_name = 'load test muller 14'`.execute(big.db);
    expect(hit.rows).toEqual([{ external_id: 'L14' }]);
    const words = await sql<{ word: string }>`SELECT word FROM customer_words WHERE word IN ('load', 'muller', 'acme', '2999') ORDER BY word`.execute(big.db);
    expect(words.rows.map((w) => w.word)).toEqual(['2999', 'acme', 'load', 'muller']);
    // The vocabulary trigger is back on for everything written after the load.
    await big.db
      .insertInto('customers')
      .values({ external_id: 'AFTER', name: 'Quibbleford Works', created_at: new Date(), updated_at: new Date(), data_changed_at: new Date() })
      .execute();
    const after = await sql<{ word: string }>`SELECT word FROM customer_words WHERE word = 'quibbleford'`.execute(big.db);
    expect(after.rows).toEqual([{ word: 'quibbleford' }]);
  });
});

describe('events in chunks', () => {
  it('merges chunk by chunk with the same result: duplicates across chunks are one signal, unknown customers reported by line', async () => {
    const before = await count('signals');
    const lines = ['customer_external_id,kind,occurred_at,value,external_id'];
    for (let i = 0; i < 2_500; i++)
      lines.push(`C1,usage,2026-05-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z,${i % 40},`);
    lines.push('C404,usage,2026-05-02,1,');
    for (let i = 0; i < 500; i++)
      lines.push(`C1,usage,2026-05-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z,${i % 40},`);
    const r = await importEvents(db.pool, csv(`${lines.join('\n')}\n`), 'chunks.csv', 'csv', { eventChunk: 400 });
    expect(r).toMatchObject({ rows: 3_001, inserted: 2_500, loaded: 3_000, unchanged: 500 });
    expect(r.problems).toEqual([{ line: 2_502, reason: 'customer C404 is unknown (import it first with: retain import customers)' }]);
    expect(await count('signals')).toBe(before + 2_500);
  });
});
