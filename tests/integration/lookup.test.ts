import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOK_OWNERS, BOOK_TEAM, bookCsv, customerAt, nameAt } from '../../bench/company-book.js';
import { upsertMember, upsertTeam } from '../../src/customers/roster.repository.js';
import { lookupCandidates, nearestNames } from '../../src/customers/customer.repository.js';
import { decideLookup, searchGrams, searchText } from '../../src/customers/lookup.rules.js';
import { mergeCustomers } from '../../src/ingest/customer-merge.repository.js';
import { importCustomers } from '../../src/ingest/import.service.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

/**
 * The lookup on a book large enough for the old fuzzy branches to have
 * mattered: a few thousand generated customers (many names sharing words,
 * Chinese names, diacritics, shared names) plus a few written for the cases.
 */
const BOOK = 3_000;
let db: TestDb;

const HANDMADE = `external_id,name,domain
H1,Zebulon Quartz Holdings,zebulon-quartz.com
H2,Zebulon Quartzite Labs,zq-labs.io
H3,Wolfram Heliotrope Logistics,heliotrope.de
H4,Kandinsky Analytics,kandinsky.io
H5,深圳星河科技有限公司,xinghe.cn
H6,Øresund Crème Brûlée AB,oresund.se
H7,Tourin Media,tourin.fr
`;

const shown = (candidates: Parameters<typeof decideLookup>[0]) => {
  const d = decideLookup(candidates);
  return d.kind === 'card' ? [d.customer.externalId] : d.kind === 'choose' ? d.matches.map((m) => m.externalId) : [];
};

beforeAll(async () => {
  db = await createTestDb('lookup');
  const team = await upsertTeam(db.db, { key: BOOK_TEAM, name: 'Book', channelId: 'C0BOOK', tz: 'UTC' });
  for (const u of BOOK_OWNERS) await upsertMember(db.db, { slackUserId: u, teamId: team.id, role: 'rep', alertChannelId: null });
  expect((await importCustomers(db.db, bookCsv(BOOK), 'book.csv')).problems).toEqual([]);
  expect((await importCustomers(db.db, Readable.from([HANDMADE]), 'handmade.csv')).problems).toEqual([]);
});
afterAll(async () => db?.drop());

describe('exact matches, answered without the fuzzy branches', () => {
  it('finds an external id whatever its case', async () => {
    expect(await lookupCandidates(db.db, 'acc-0000042')).toEqual({
      match: 'exact_id',
      candidates: [expect.objectContaining({ externalId: 'ACC-0000042', score: 1 })],
    });
  });

  it('finds a name typed in lower case and without its accents', async () => {
    const i = [...Array(BOOK).keys()].find((k) => /[\u0080-\uffff]/.test(nameAt(k)) && !/\p{Script=Han}/u.test(nameAt(k)))!;
    const typed = nameAt(i).normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
    const r = await lookupCandidates(db.db, typed);
    expect(r.match).toBe('exact_name');
    expect(r.candidates.map((c) => c.externalId)).toContain(customerAt(i).externalId);
  });

  it('offers every customer sharing a name', async () => {
    const i = [...Array(BOOK).keys()].find((k) => k > 0 && [...Array(k).keys()].some((j) => nameAt(j) === nameAt(k)))!;
    const sharing = [...Array(BOOK).keys()].filter((k) => nameAt(k) === nameAt(i)).map((k) => customerAt(k).externalId);
    const r = await lookupCandidates(db.db, nameAt(i));
    expect(r.match).toBe('exact_name');
    expect(r.candidates.map((c) => c.externalId).sort()).toEqual(sharing.sort());
    expect(decideLookup(r.candidates).kind).toBe('choose');
  });

  it('finds a domain, also typed as a URL', async () => {
    const c = customerAt([...Array(BOOK).keys()].find((k) => customerAt(k).domain !== null)!);
    expect((await lookupCandidates(db.db, c.domain!)).candidates.map((x) => x.externalId)).toEqual([c.externalId]);
    expect(await lookupCandidates(db.db, `https://www.${c.domain}/pricing`)).toMatchObject({
      match: 'exact_domain',
      candidates: [{ externalId: c.externalId }],
    });
  });
});

describe('prefixes', () => {
  it('offers the names starting with what was typed', async () => {
    const r = await lookupCandidates(db.db, 'zebulon quar');
    expect(r.match).toBe('prefix');
    expect(shown(r.candidates).sort()).toEqual(['H1', 'H2']);
  });

  it('finds the start of a later word', async () => {
    const r = await lookupCandidates(db.db, 'quartzi');
    expect(r.match).toBe('prefix');
    expect(shown(r.candidates)).toEqual(['H2']);
  });

  it('finds a Chinese name by a part from its middle', async () => {
    const r = await lookupCandidates(db.db, '星河科技');
    expect(r.match).toBe('prefix');
    expect(shown(r.candidates)).toEqual(['H5']);
  });

  it('ignores accents typed or not', async () => {
    for (const q of ['oresund creme', 'Öresund Crème']) {
      const r = await lookupCandidates(db.db, q);
      expect(r.match).toBe('prefix');
      expect(shown(r.candidates)).toEqual(['H6']);
    }
  });
});

describe('typos', () => {
  it.each([
    ['kandinksy analytics', 'H4'],
    ['wolfram heliotorpe logistics', 'H3'],
    ['zebulon quartzitte labs', 'H2'],
    ['深圳星河科枝有限公司', 'H5'],
    ['tuorin media', 'H7'],
    ['touring media', 'H7'],
  ])('%s → %s', async (query, id) => {
    const r = await lookupCandidates(db.db, query);
    expect(r.match).toBe('fuzzy');
    expect(shown(r.candidates)[0]).toBe(id);
  });

  it('forgives a typo in a generated name among thousands sharing its words', async () => {
    const i = [...Array(BOOK).keys()].find((k) => /^[A-Z][a-z]{7,} [A-Z][a-z]+$/.test(nameAt(k)))!;
    const name = nameAt(i).toLowerCase();
    const typo = `${name.slice(0, 3)}${name[4]}${name[3]}${name.slice(5)}`; // two letters of the first word swapped
    const r = await lookupCandidates(db.db, typo);
    expect(r.match).toBe('fuzzy');
    expect(shown(r.candidates)).toContain(customerAt(i).externalId);
  });
});

describe('nothing found', () => {
  it('says none, and suggests the nearest names when a word is close', async () => {
    const r = await lookupCandidates(db.db, 'Heliotrope Widgets Worldwide');
    expect(r.match).toBe('none');
    expect(shown(r.candidates)).toEqual([]);
    expect((await nearestNames(db.db, 'Heliotrope Widgets Worldwide')).map((c) => c.externalId)).toContain('H3');
  });

  it('suggests nothing for a name unlike any', async () => {
    expect(await lookupCandidates(db.db, 'Qxzvbn Wlpqrt')).toEqual({ match: 'none', candidates: [] });
    expect(await nearestNames(db.db, 'Qxzvbn Wlpqrt')).toEqual([]);
  });

  it('answers an empty or punctuation-only query with nothing', async () => {
    expect(await lookupCandidates(db.db, '  ')).toEqual({ match: 'none', candidates: [] });
    expect((await lookupCandidates(db.db, '%%')).candidates).toEqual([]);
  });
});

describe('customers written outside the import', () => {
  it('are searchable when inserted directly (the database fills their search columns and words)', async () => {
    await db.db
      .insertInto('customers')
      .values({ external_id: 'RAW1', name: 'Pemberton Vexillology Ltd', created_at: new Date(), updated_at: new Date(), data_changed_at: new Date() })
      .execute();
    expect(shown((await lookupCandidates(db.db, 'pemberton vex')).candidates)).toEqual(['RAW1']);
    expect(shown((await lookupCandidates(db.db, 'pemberton vexilology')).candidates)).toEqual(['RAW1']);
  });

  it('follow a rename through the ingest API merge', async () => {
    await mergeCustomers(
      db.db,
      [
        {
          index: 0,
          externalId: 'H4',
          name: 'Mondrian Analytics',
          domain: null,
          plan: null,
          arr: null,
          currency: null,
          renewalDate: null,
          ownerSlackId: null,
          team: null,
          startedAt: null,
          churnedAt: null,
        },
      ],
      'test',
    );
    expect((await lookupCandidates(db.db, 'mondrian analytics')).candidates.map((c) => c.externalId)).toEqual(['H4']);
    expect((await lookupCandidates(db.db, 'kandinsky analytics')).match).not.toBe('exact_name');
  });
});

describe('normalisation in the database', () => {
  it('agrees with the TypeScript normalisation the import uses', async () => {
    const names = [
      'Société Générale, S.A.',
      'ＡＢＣ Trading',
      '星河科技有限公司',
      'Møller & Søn',
      'Straße AG',
      'AT&T',
      'Łódź Œuvre Æther',
      'Crème brûlée',
      'Dvořák',
      'ヤマト運輸',
      '<!channel> Evil & Co',
    ];
    for (const n of names) {
      const { rows } = await sql<{
        t: string;
        g: string | null;
      }>`SELECT retain_search_text(${n}) AS t, retain_search_grams(retain_search_text(${n})) AS g`.execute(db.db);
      const sorted = (g: string | null) => (g ?? '').split(' ').sort().join(' ');
      expect({ name: n, text: rows[0]!.t, grams: sorted(rows[0]!.g) }).toEqual({ name: n, text: searchText(n), grams: sorted(searchGrams(searchText(n))) });
    }
  });
});
