/**
 * Pure decisions of the customer lookup: how names and queries are
 * normalised for matching, how index hits are scored, and — given the
 * candidates, best first — whether to show one card, offer a choice, or say
 * nothing matched and suggest the nearest names.
 */
export interface Candidate {
  id: string;
  name: string;
  domain: string | null;
  externalId: string;
  /** 0..1; 1 means an exact match on name, domain or external id. */
  score: number;
}

/** Which way of matching answered a lookup (a metrics label: low cardinality). */
export type MatchKind = 'exact_id' | 'exact_name' | 'exact_domain' | 'prefix' | 'fuzzy' | 'none';
export const MATCH_KINDS: readonly MatchKind[] = ['exact_id', 'exact_name', 'exact_domain', 'prefix', 'fuzzy', 'none'];

export type LookupDecision = { kind: 'card'; customer: Candidate } | { kind: 'choose'; matches: Candidate[] } | { kind: 'none'; nearest: Candidate[] };

export const MATCH = {
  /** A candidate below this is only a "nearest name" suggestion. */
  plausible: 0.3,
  /** A lone or clearly-leading candidate at or above this opens directly. */
  confident: 0.5,
  /** How far the best must lead the runner-up to win outright. */
  lead: 0.15,
  maxChoices: 5,
  maxNearest: 3,
} as const;

export function decideLookup(candidates: readonly Candidate[]): LookupDecision {
  const sorted = [...candidates].sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const exact = sorted.filter((c) => c.score >= 1);
  if (exact.length === 1) return { kind: 'card', customer: exact[0]! };
  if (exact.length > 1) return { kind: 'choose', matches: exact.slice(0, MATCH.maxChoices) };

  const plausible = sorted.filter((c) => c.score >= MATCH.plausible);
  if (plausible.length === 0) return { kind: 'none', nearest: sorted.slice(0, MATCH.maxNearest) };
  const [best, second] = plausible;
  if (plausible.length === 1 || (best!.score >= MATCH.confident && best!.score - second!.score >= MATCH.lead)) {
    return { kind: 'card', customer: best! };
  }
  return { kind: 'choose', matches: plausible.slice(0, MATCH.maxChoices) };
}

/** Escape LIKE wildcards so a query of `%` matches a literal percent sign. */
export function likePattern(query: string): string {
  return query.replace(/[\\%_]/g, (c) => `\\${c}`);
}

// ───────────────────────── normalised search text ─────────────────────────

/** Letters that carry no combining mark to strip but read as plain Latin. */
const FOLD: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ħ: 'h',
  ı: 'i',
  ŀ: 'l',
  ŧ: 't',
  ŋ: 'n',
  ĸ: 'k',
  ſ: 's',
};
const FOLDABLE = /[ßæœøłđðþħıŀŧŋĸſ]/g;
/** Combining diacritical marks (the accents of Latin, Greek and Cyrillic letters). */
const DIACRITICS = /[\u0300-\u036f]/g;
const NON_ASCII = /[\u0080-\uffff]/;
const SEPARATORS_ASCII = /[^a-z0-9]+/g;
const SEPARATORS = /[^\p{L}\p{N}\p{M}]+/gu;

/**
 * The form names and queries are compared in: compatibility-normalised
 * (full-width ＡＢＣ reads abc), lower case, without accents (Müller, Muller
 * and MULLER are one), punctuation and symbols as single spaces ("Acme,
 * Inc." is "acme inc", "AT&T" is "at t"). Stored per customer as `search_name` by the import and the ingest
 * API; the database's `retain_search_text` computes the same for rows written
 * any other way.
 */
export function searchText(text: string): string {
  // ASCII is its own compatibility normal form.
  if (!NON_ASCII.test(text)) return text.toLowerCase().replace(SEPARATORS_ASCII, ' ').trim();
  let t = text.normalize('NFKC').toLowerCase();
  t = t
    .normalize('NFD')
    .replace(DIACRITICS, '')
    .replace(FOLDABLE, (c) => FOLD[c]!)
    .normalize('NFC');
  return t.replace(SEPARATORS, ' ').trim();
}

/** Chinese and Japanese script: words are not separated by spaces, so substrings are matched by character pairs. */
const CJK_RUN = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}/g;
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;

function cjkBigrams(text: string, into: Set<string>): void {
  for (const m of text.matchAll(CJK_RUN)) {
    const run = m[0];
    for (let i = 0; i + 1 < run.length; i++) into.add(run.slice(i, i + 2));
  }
}

/**
 * The character pairs of the CJK runs of a search name, space-separated (null
 * when it has none): indexed with the words, so 阿里巴巴 finds 阿里巴巴集团.
 */
export function searchGrams(searchName: string): string | null {
  if (!CJK.test(searchName)) return null;
  const grams = new Set<string>();
  cjkBigrams(searchName, grams);
  return grams.size ? [...grams].join(' ') : null;
}

// ───────────────────────── what a query asks for ─────────────────────────

export interface LookupQuery {
  /** As typed, trimmed: compared case-insensitively with external ids. */
  raw: string;
  /** searchText of the query: compared with names. */
  text: string;
  /** The query read as a domain (scheme, www. and path dropped), when it can be one. */
  domain: string | null;
  words: string[];
}

export function readLookupQuery(query: string): LookupQuery {
  const raw = query.trim().slice(0, 300);
  const text = searchText(raw);
  const d = raw
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[/?#].*$/, '');
  const domain = d.includes('.') && !/\s/.test(d) ? d : null;
  return { raw, text, domain, words: text ? text.split(' ').slice(0, 8) : [] };
}

/** The first string after every string that starts with `prefix`, in byte (C collation) order. */
export function prefixUpperBound(prefix: string): string {
  const cps = [...prefix];
  const last = cps.pop()!;
  return cps.join('') + String.fromCodePoint(last.codePointAt(0)! + 1);
}

/** The distinct character pairs of a word's CJK runs (empty for other words). */
export function cjkGrams(word: string): string[] {
  if (!CJK.test(word)) return [];
  const grams = new Set<string>();
  cjkBigrams(word, grams);
  if (grams.size === 0) grams.add(word);
  return [...grams];
}

/** Score of a prefix hit: the name starting with the query beats a later word, and the more of the name typed the better. */
export function prefixScore(queryText: string, searchName: string): number {
  const cover = Math.min(1, 0.6 + [...queryText].length / Math.max([...searchName].length, 1));
  return (searchName.startsWith(queryText) ? 0.9 : 0.8) * cover;
}

/** A token as a tsquery term (tokens hold letters, digits and marks; quotes and backslashes are escaped anyway). */
export function tokenTerm(token: string): string {
  return `'${token.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The CJK stand-in of a word: all of its character pairs (a substring of the name). */
export function cjkPairsTerm(word: string): string | null {
  const pairs = cjkGrams(word);
  return pairs.length ? `(${pairs.map(tokenTerm).join(' & ')})` : null;
}

/**
 * tsqueries over name tokens from the stand-ins of each query word (tsquery
 * terms, by word position; an empty list for a word nothing stands for):
 * `every` needs a stand-in of each word; `allButOne` of all words but any one
 * (a word the name lacks or that nothing stands for) — null for a one-word
 * query, or when two or more words have no stand-in.
 */
export function tokenQueries(standIns: readonly (readonly string[])[]): { every: string | null; allButOne: string | null } {
  const groups = standIns.map((terms) => (terms.length ? `(${[...new Set(terms)].join(' | ')})` : null));
  const present = groups.filter((g): g is string => g !== null);
  const every = present.length === groups.length && present.length > 0 ? present.join(' & ') : null;
  let allButOne: string | null = null;
  if (groups.length > 1 && present.length === groups.length - 1) allButOne = present.join(' & ');
  else if (groups.length > 1 && present.length === groups.length) {
    allButOne = present.map((_, skip) => `(${present.filter((_, k) => k !== skip).join(' & ')})`).join(' | ');
  }
  return { every, allButOne };
}

/**
 * The words one slip away from `word` that trigram similarity misses: two
 * letters swapped (tuorin → tourin) or one letter too many (gloobex →
 * globex). Looked up exactly in the vocabulary, a handful of index probes.
 */
export function slipVariants(word: string): string[] {
  const chars = [...word];
  if (chars.length < 4) return [];
  const out = new Set<string>();
  for (let i = 0; i < chars.length; i++) out.add([...chars.slice(0, i), ...chars.slice(i + 1)].join(''));
  for (let i = 0; i + 1 < chars.length; i++) {
    if (chars[i] === chars[i + 1]) continue;
    out.add([...chars.slice(0, i), chars[i + 1], chars[i], ...chars.slice(i + 2)].join(''));
  }
  out.delete(word);
  return [...out];
}
