import { describe, expect, it } from 'vitest';
import {
  cjkGrams,
  cjkPairsTerm,
  decideLookup,
  likePattern,
  prefixScore,
  prefixUpperBound,
  readLookupQuery,
  searchGrams,
  searchText,
  slipVariants,
  tokenQueries,
  tokenTerm,
  type Candidate,
} from '../../src/customers/lookup.rules.js';

const c = (name: string, score: number): Candidate => ({ id: name, name, domain: null, externalId: name, score });

describe('decideLookup', () => {
  it('opens an exact match even when others are close', () => {
    expect(decideLookup([c('Acme', 1), c('Acme Logistics', 0.9)])).toMatchObject({ kind: 'card', customer: { name: 'Acme' } });
  });
  it('opens a clear leader', () => {
    expect(decideLookup([c('Globex', 0.7), c('Globe Media', 0.3)])).toMatchObject({ kind: 'card', customer: { name: 'Globex' } });
  });
  it('asks to choose between close candidates, at most 5', () => {
    const d = decideLookup([0.9, 0.9, 0.85, 0.8, 0.8, 0.8, 0.7].map((s, i) => c(`Acme ${i}`, s)));
    expect(d.kind).toBe('choose');
    if (d.kind === 'choose') expect(d.matches).toHaveLength(5);
  });
  it('opens a lone plausible candidate', () => {
    expect(decideLookup([c('Initech', 0.35), c('Intel', 0.2)])).toMatchObject({ kind: 'card', customer: { name: 'Initech' } });
  });
  it('says none and offers the nearest names when nothing is plausible', () => {
    const d = decideLookup([c('A', 0.1), c('B', 0.2)]);
    expect(d).toEqual({ kind: 'none', nearest: [c('B', 0.2), c('A', 0.1)] });
  });
  it('escapes LIKE wildcards', () => {
    expect(likePattern('50%_off\\')).toBe('50\\%\\_off\\\\');
  });
});

describe('searchText', () => {
  it.each([
    ['Acme, Inc.', 'acme inc'],
    ['  ACME   Corp ', 'acme corp'],
    ['Société Générale', 'societe generale'],
    ['Müller & Søn GmbH', 'muller son gmbh'],
    ['Straße', 'strasse'],
    ['Łódź Œuvre Æther', 'lodz oeuvre aether'],
    ['ＡＢＣ１２３', 'abc123'],
    ['AT&T', 'at t'],
    ['阿里巴巴集团', '阿里巴巴集团'],
    ['<!channel> Evil & Co', 'channel evil co'],
  ])('%j → %j', (name, expected) => {
    expect(searchText(name)).toBe(expected);
  });
});

describe('searchGrams / cjkGrams', () => {
  it('pairs the characters of CJK runs only', () => {
    expect(searchGrams('阿里巴巴集团')).toBe('阿里 里巴 巴巴 巴集 集团');
    expect(searchGrams('acme 星河 x')).toBe('星河');
    expect(searchGrams('acme corp')).toBeNull();
    expect(cjkGrams('星')).toEqual(['星']);
    expect(cjkGrams('acme')).toEqual([]);
  });
  it('makes a CJK substring a conjunction of its pairs', () => {
    expect(cjkPairsTerm('阿里巴')).toBe("('阿里' & '里巴')");
    expect(cjkPairsTerm('acme')).toBeNull();
  });
});

describe('readLookupQuery', () => {
  it('reads a domain from a URL, keeps the raw text for external ids, splits words', () => {
    expect(readLookupQuery(' https://www.Acme.com/pricing ')).toMatchObject({ raw: 'https://www.Acme.com/pricing', domain: 'acme.com' });
    expect(readLookupQuery('ACC-0001')).toMatchObject({ raw: 'ACC-0001', text: 'acc 0001', domain: null, words: ['acc', '0001'] });
    expect(readLookupQuery('North Vant')).toMatchObject({ text: 'north vant', words: ['north', 'vant'], domain: null });
    expect(readLookupQuery('   ')).toMatchObject({ raw: '', text: '', words: [] });
  });
});

describe('prefixUpperBound', () => {
  it('is the first string after every string with the prefix', () => {
    expect(prefixUpperBound('acme')).toBe('acmf');
    expect(prefixUpperBound('星')).toBe(String.fromCodePoint('星'.codePointAt(0)! + 1));
    const names = ['acme', 'acme corp', 'acmez', 'acmf', 'acm'];
    expect(names.filter((n) => n >= 'acme' && n < prefixUpperBound('acme'))).toEqual(['acme', 'acme corp', 'acmez']);
  });
});

describe('tokenQueries', () => {
  it('asks for a stand-in of every word, and of all but any one', () => {
    expect(tokenQueries([["'vantor'", "'vantra'"], ["'logistics'"]])).toEqual({
      every: "('vantor' | 'vantra') & ('logistics')",
      allButOne: "(('logistics')) | (('vantor' | 'vantra'))",
    });
  });
  it('leaves out a word nothing stands for, and gives up when two words have none', () => {
    expect(tokenQueries([["'beacon'"], [], ["'retail'"]])).toEqual({ every: null, allButOne: "('beacon') & ('retail')" });
    expect(tokenQueries([["'beacon'"], [], []])).toEqual({ every: null, allButOne: null });
    expect(tokenQueries([["'acme'"]])).toEqual({ every: "('acme')", allButOne: null });
    expect(tokenQueries([[]])).toEqual({ every: null, allButOne: null });
  });
  it('quotes tokens for tsquery input', () => {
    expect(tokenTerm("o'neil")).toBe("'o''neil'");
  });
});

describe('slipVariants', () => {
  it('swaps neighbours and drops one letter, for words of four letters or more', () => {
    expect(slipVariants('tuorin')).toContain('tourin');
    expect(slipVariants('gloobex')).toContain('globex');
    expect(slipVariants('abcd').sort()).toEqual(['abc', 'abd', 'acd', 'bacd', 'bcd', 'abdc', 'acbd'].sort());
    expect(slipVariants('abc')).toEqual([]);
    expect(slipVariants('aabb')).not.toContain('aabb');
  });
});

describe('prefixScore', () => {
  it('prefers the name starting with the query, and more of the name typed', () => {
    expect(prefixScore('acme', 'acme corp')).toBeGreaterThan(prefixScore('acme', 'acme logistics'));
    expect(prefixScore('acme', 'north acme logistics')).toBeLessThan(prefixScore('acme', 'acme logistics'));
    expect(prefixScore('acme', 'acme')).toBeCloseTo(0.9);
  });
});
