import { sql } from 'kysely';
import type { DbOrTrx } from '../platform/db.js';
import {
  cjkPairsTerm,
  likePattern,
  MATCH,
  prefixScore,
  prefixUpperBound,
  readLookupQuery,
  slipVariants,
  tokenQueries,
  tokenTerm,
  type Candidate,
  type LookupQuery,
  type MatchKind,
} from './lookup.rules.js';

export type { MatchKind } from './lookup.rules.js';

/** What a lookup found, and which way of matching found it. */
export interface CandidateLookup {
  match: MatchKind;
  /** Best first. */
  candidates: Candidate[];
}

interface CandidateRow {
  id: string;
  name: string;
  domain: string | null;
  external_id: string;
}
const candidate = (r: CandidateRow, score: number): Candidate => ({ id: r.id, name: r.name, domain: r.domain, externalId: r.external_id, score });

/** Query words matched word by word (the rest of a long query only counts in the final scoring). */
const MAX_WORDS = 5;
/** Vocabulary completions a half-typed word stands for. */
const COMPLETIONS = 16;
/** Rows the word-prefix branch may read before scoring. */
const PREFIX_CAP = 50;
/** Rows the typo-tolerant branch may score. */
const FUZZY_CAP = 200;

/**
 * Customers matching a free-text query, in tiers that stop at the first that
 * finds something, each answered from indexes with a bounded amount of work
 * whatever the size of the book:
 *
 * 1. exact external id, exact name (every customer sharing it), exact domain:
 *    btree lookups;
 * 2. prefix: the name starts with the query (a btree range read in order, cut
 *    at `limit`), or each query word starts a word of the name and each CJK
 *    run is inside it (the name-token GIN index, cut at PREFIX_CAP);
 * 3. fuzzy: each query word is matched against the vocabulary of name words
 *    (trigram similarity over distinct words, far fewer than customers); the
 *    customers holding a stand-in for every query word — or, failing that, for
 *    all but one — are scored by trigram similarity, at most FUZZY_CAP of them.
 *
 * Names and queries are compared as `searchText` (case, accents, punctuation
 * and full-width forms folded).
 */
export async function lookupCandidates(db: DbOrTrx, rawQuery: string, limit = 10): Promise<CandidateLookup> {
  const q = readLookupQuery(rawQuery);
  if (!q.raw) return { match: 'none', candidates: [] };
  const first = await exactOrStarting(db, q, limit);
  if (first.exact) return first.exact;
  if (!q.text) return { match: 'none', candidates: [] };
  const prefix = first.starting.length >= limit ? first.starting : [...first.starting, ...(await laterWordMatches(db, q, first.starting))];
  if (prefix.length) return { match: 'prefix', candidates: rankPrefixHits(q, prefix, limit) };
  const fuzzy = await fuzzyMatches(db, q, limit);
  return { match: fuzzy.some((c) => c.score >= MATCH.plausible) ? 'fuzzy' : 'none', candidates: fuzzy };
}

/** The candidates of `lookupCandidates`, best first. */
export async function findCandidates(db: DbOrTrx, rawQuery: string, limit = 10): Promise<Candidate[]> {
  return (await lookupCandidates(db, rawQuery, limit)).candidates;
}

type PrefixHit = CandidateRow & { search_name: string };

/**
 * One round trip for the cheapest tiers: exact external id, name and domain,
 * and the first names (in order) starting with the query — used only when
 * nothing matched exactly.
 */
async function exactOrStarting(db: DbOrTrx, q: LookupQuery, limit: number): Promise<{ exact: CandidateLookup | null; starting: PrefixHit[] }> {
  const { rows } = await sql<PrefixHit & { k: number }>`
    (SELECT id::text AS id, name, domain, external_id, search_name, 1 AS k FROM customers WHERE lower(external_id) = lower(${q.raw}) LIMIT ${limit})
    UNION ALL
    (SELECT id::text, name, domain, external_id, search_name, 2 FROM customers WHERE search_name = ${q.text} AND ${q.text} <> '' LIMIT ${limit})
    UNION ALL
    (SELECT id::text, name, domain, external_id, search_name, 3 FROM customers WHERE lower(domain) = ${q.domain} LIMIT ${limit})
    UNION ALL
    (SELECT id::text, name, domain, external_id, search_name, 4 FROM customers
     WHERE ${q.text} <> '' AND search_name >= ${q.text} AND search_name < ${prefixUpperBound(q.text || ' ')}
     ORDER BY search_name LIMIT ${limit})`.execute(db);
  const exactRows = rows.filter((r) => r.k < 4);
  if (exactRows.length === 0) return { exact: null, starting: rows };
  const kinds: MatchKind[] = ['exact_id', 'exact_name', 'exact_domain'];
  const seen = new Set<string>();
  const unique = exactRows.filter((r) => !seen.has(r.id) && seen.add(r.id));
  return { exact: { match: kinds[Math.min(...exactRows.map((r) => r.k)) - 1]!, candidates: unique.slice(0, limit).map((r) => candidate(r, 1)) }, starting: [] };
}

/** The name-token expression the GIN index is built on. */
const NAME_TOKENS = sql`retain_search_tokens(search_name, search_grams)`;

/**
 * Names where each query word starts a later word (and each CJK run is
 * inside): read when names starting with the query do not fill the page.
 */
async function laterWordMatches(db: DbOrTrx, q: LookupQuery, already: readonly PrefixHit[]): Promise<PrefixHit[]> {
  const { every } = tokenQueries(await standIns(db, q, { completions: COMPLETIONS, completeEvery: true, cjkPairs: true }));
  if (every === null) return [];
  const { rows } = await sql<PrefixHit>`
    SELECT id::text AS id, name, domain, external_id, search_name FROM customers
    WHERE ${NAME_TOKENS} @@ ${every}::tsquery
    LIMIT ${PREFIX_CAP}`.execute(db);
  const seen = new Set(already.map((r) => r.id));
  return rows.filter((r) => !seen.has(r.id));
}

function rankPrefixHits(q: LookupQuery, hits: readonly PrefixHit[], limit: number): Candidate[] {
  return hits
    .map((r) => candidate(r, prefixScore(q.text, r.search_name)))
    .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name))
    .slice(0, limit);
}

async function fuzzyMatches(db: DbOrTrx, q: LookupQuery, limit: number): Promise<Candidate[]> {
  const { every, allButOne } = tokenQueries(await standIns(db, q, { completions: COMPLETIONS, similar: 8, containing: 3 }));
  if (every === null && allButOne === null) return [];
  // The token queries go in as constants, so the planner weighs each by the token statistics: a
  // rare token is read through the index, a very common one by scanning until the cap is reached.
  const { rows } = await sql<CandidateRow & { score: number }>`
    WITH every_hit AS (
      ${every === null ? sql`SELECT NULL::bigint AS id WHERE false` : sql`SELECT id FROM customers WHERE ${NAME_TOKENS} @@ ${every}::tsquery LIMIT ${FUZZY_CAP}`}
    ), most_hit AS (
      ${allButOne === null ? sql`SELECT NULL::bigint AS id WHERE false` : sql`SELECT id FROM customers WHERE ${NAME_TOKENS} @@ ${allButOne}::tsquery AND (SELECT count(*) FROM every_hit) < ${limit} LIMIT ${FUZZY_CAP}`}
    )
    SELECT c.id::text AS id, c.name, c.domain, c.external_id,
      GREATEST(similarity(c.search_name, ${q.text}), word_similarity(${q.text}, c.search_name) * 0.9)::float AS score
    FROM customers c WHERE c.id IN (SELECT id FROM every_hit UNION SELECT id FROM most_hit)
    ORDER BY score DESC, c.search_name
    LIMIT ${limit}`.execute(db);
  return rows.map((r) => candidate(r, Number(r.score)));
}

/**
 * Nearest names when nothing plausible matched: customers holding a word of
 * the vocabulary loosely similar to a query word, best by trigram similarity.
 */
export async function nearestNames(db: DbOrTrx, rawQuery: string, limit = 3): Promise<Candidate[]> {
  const q = readLookupQuery(rawQuery);
  if (!q.text) return [];
  const { rows } = await db.transaction().execute(async (trx) => {
    // A low bar for "similar", for this transaction only.
    await sql`SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)`.execute(trx);
    const any = [...new Set((await standIns(trx, q, { similar: 3 })).flat())].join(' | ');
    if (!any) return { rows: [] };
    return sql<CandidateRow & { score: number }>`
      SELECT c.id::text AS id, c.name, c.domain, c.external_id,
        GREATEST(similarity(c.search_name, ${q.text}), word_similarity(${q.text}, c.search_name))::float AS score
      FROM customers c WHERE c.id IN (SELECT id FROM customers WHERE ${NAME_TOKENS} @@ ${any}::tsquery LIMIT ${FUZZY_CAP})
      ORDER BY score DESC, c.search_name
      LIMIT ${limit}`.execute(trx);
  });
  return rows.filter((r) => Number(r.score) > 0).map((r) => candidate(r, Number(r.score)));
}

interface StandInOptions {
  /** Vocabulary words starting with the query word, in order. */
  completions?: number;
  /** Complete every query word, not only the last (the one that may be half typed). */
  completeEvery?: boolean;
  /** A CJK word stands for all of its character pairs (a substring of the name). */
  cjkPairs?: boolean;
  /** Vocabulary words similar to the query word (typos), most similar first. */
  similar?: number;
  /** Vocabulary words containing the query word. */
  containing?: number;
}

/**
 * For each query word (by position), tsquery terms for the name tokens that
 * may stand for it: the word itself when some name has it, vocabulary words
 * completing it, similar to it or containing it, and for a CJK word the pairs
 * of its characters. One statement over the vocabulary of name words — far
 * fewer rows than customers. Every stand-in is a whole token, so a GIN scan
 * can skip through common ones (a `word:*` prefix term would read every
 * posting of every completion).
 */
async function standIns(db: DbOrTrx, q: LookupQuery, opts: StandInOptions): Promise<string[][]> {
  const words = q.words.slice(0, MAX_WORDS);
  const arms = words.flatMap((w, i) => {
    const out = [sql`(SELECT ${i}::int AS ord, word FROM customer_words WHERE word = ${w})`];
    if (opts.completions && (opts.completeEvery || i === words.length - 1)) {
      out.push(sql`(SELECT ${i}, word FROM customer_words WHERE word > ${w} AND word < ${prefixUpperBound(w)} ORDER BY word LIMIT ${opts.completions})`);
    }
    // Trigram similarity says little about words of three or four letters; a word some name has is taken
    // as spelled. One typo leaves a word of n letters (n-2)/(n+4) similar: 0.33 at 5 letters, 0.5 at 8. Long
    // words are matched at 0.5 (strict word similarity, a single word being its own extent), which lets the
    // index skip most postings of their common trigrams; shorter ones at the 0.3 of `%`.
    const letters = [...w].length;
    if (opts.similar && (letters >= 5 || cjkPairsTerm(w) !== null)) {
      const similar = letters >= 8 ? sql`${w} <<% word` : sql`word % ${w}`;
      out.push(sql`(SELECT ${i}, word FROM customer_words
        WHERE NOT EXISTS (SELECT 1 FROM customer_words WHERE word = ${w}) AND ${similar}
        ORDER BY similarity(word, ${w}) DESC, word LIMIT ${opts.similar})`);
    }
    if (opts.similar && letters >= 4) {
      out.push(sql`(SELECT ${i}, word FROM customer_words
        WHERE NOT EXISTS (SELECT 1 FROM customer_words WHERE word = ${w}) AND word = ANY(${slipVariants(w)}::text[]))`);
    }
    if (opts.containing && [...w].length > 2) {
      out.push(sql`(SELECT ${i}, word FROM customer_words WHERE word LIKE ${`%${likePattern(w)}%`} LIMIT ${opts.containing})`);
    }
    return out;
  });
  const { rows } = await sql<{ ord: number; word: string }>`${sql.join(arms, sql` UNION ALL `)}`.execute(db);
  const terms = words.map((w) => {
    const pairs = opts.cjkPairs ? cjkPairsTerm(w) : null;
    return pairs ? [pairs] : [];
  });
  for (const r of rows) terms[r.ord]!.push(tokenTerm(r.word));
  return terms;
}

export interface CardData {
  id: string;
  externalId: string;
  name: string;
  domain: string | null;
  plan: string | null;
  arr: number | null;
  currency: string | null;
  renewalDate: string | null;
  status: 'active' | 'churned';
  ownerSlackId: string | null;
  ownerSince: Date | null;
  teamName: string | null;
  teamKey: string | null;
  score: null | {
    health: number;
    band: 'green' | 'yellow' | 'red';
    tier: 'A' | 'B' | 'C' | null;
    segment: string | null;
    pAlive: number | null;
    clv: number | null;
    expectedOrders90d: number | null;
    drivers: { key: string; direction: 'down' | 'up'; impact: number; text: string }[];
    measures: { key: string; score: number; weight: number }[];
    stale: string[];
    scoredAt: Date;
    newestDataAt: Date | null;
    previousHealth: number | null;
    /** Calibrated chance of churn within churnHorizonDays, from the health model in use; null without one. */
    churnProbability?: number | null;
    churnHorizonDays?: number | null;
  };
  history: number[];
  lastInteraction: null | { kind: string; note: string; occurredAt: Date; authorSlackId: string };
  latestFeedback: null | { kind: string; text: string; createdAt: Date; authorSlackId: string };
  lastOwnershipEvent: null | { kind: string; fromSlackId: string | null; createdAt: Date };
}

export async function loadCard(db: DbOrTrx, customerId: string, historyPoints = 12): Promise<CardData | null> {
  const row = await db
    .selectFrom('customers as c')
    .leftJoin('members as m', 'm.id', 'c.owner_member_id')
    .leftJoin('teams as t', 't.id', 'c.team_id')
    .leftJoin('customer_scores as s', 's.customer_id', 'c.id')
    .select([
      'c.id',
      'c.external_id',
      'c.name',
      'c.domain',
      'c.plan',
      'c.arr',
      'c.currency',
      'c.renewal_date',
      'c.status',
      'c.owner_since',
      'm.slack_user_id as owner_slack_id',
      't.name as team_name',
      't.key as team_key',
      's.health',
      's.band',
      's.tier',
      's.rfm_segment',
      's.p_alive',
      's.clv',
      's.expected_orders_90d',
      's.drivers',
      's.measures',
      's.stale',
      's.scored_at',
      's.newest_data_at',
      's.previous_health',
      's.churn_probability',
      's.churn_horizon_days',
    ])
    .where('c.id', '=', customerId)
    .executeTakeFirst();
  if (!row) return null;

  const [history, interaction, feedback, ownership] = await Promise.all([
    db
      .selectFrom('score_history')
      .select(['health', 'scored_at'])
      .where('customer_id', '=', customerId)
      .orderBy('scored_at', 'desc')
      .limit(historyPoints)
      .execute(),
    db
      .selectFrom('interactions')
      .select(['kind', 'note', 'occurred_at', 'author_slack_id'])
      .where('customer_id', '=', customerId)
      .orderBy('occurred_at', 'desc')
      .limit(1)
      .executeTakeFirst(),
    db
      .selectFrom('feedback')
      .select(['kind', 'text', 'created_at', 'author_slack_id'])
      .where('customer_id', '=', customerId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst(),
    db
      .selectFrom('ownership_events as e')
      .leftJoin('members as f', 'f.id', 'e.from_member_id')
      .select(['e.kind', 'e.created_at', 'f.slack_user_id as from_slack_id'])
      .where('e.customer_id', '=', customerId)
      .orderBy('e.created_at', 'desc')
      .orderBy('e.id', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);

  return {
    id: row.id,
    externalId: row.external_id,
    name: row.name,
    domain: row.domain,
    plan: row.plan,
    arr: row.arr === null ? null : Number(row.arr),
    currency: row.currency,
    renewalDate: row.renewal_date,
    status: row.status,
    ownerSlackId: row.owner_slack_id,
    ownerSince: row.owner_since ? new Date(row.owner_since) : null,
    teamName: row.team_name,
    teamKey: row.team_key,
    score:
      row.health === null || row.band === null || row.scored_at === null
        ? null
        : {
            health: row.health,
            band: row.band,
            tier: row.tier,
            segment: row.rfm_segment,
            pAlive: row.p_alive,
            clv: row.clv === null ? null : Number(row.clv),
            expectedOrders90d: row.expected_orders_90d,
            drivers: row.drivers ?? [],
            measures: row.measures ?? [],
            stale: row.stale ?? [],
            scoredAt: new Date(row.scored_at),
            newestDataAt: row.newest_data_at ? new Date(row.newest_data_at) : null,
            previousHealth: row.previous_health,
            churnProbability: row.churn_probability,
            churnHorizonDays: row.churn_horizon_days,
          },
    history: history.map((h) => h.health).reverse(),
    lastInteraction: interaction
      ? { kind: interaction.kind, note: interaction.note, occurredAt: new Date(interaction.occurred_at), authorSlackId: interaction.author_slack_id }
      : null,
    latestFeedback: feedback
      ? { kind: feedback.kind, text: feedback.text, createdAt: new Date(feedback.created_at), authorSlackId: feedback.author_slack_id }
      : null,
    lastOwnershipEvent: ownership ? { kind: ownership.kind, fromSlackId: ownership.from_slack_id, createdAt: new Date(ownership.created_at) } : null,
  };
}

/**
 * For each of several texts, the customers it names exactly — by external id,
 * name (case, accents and punctuation folded) or domain — in one round trip
 * answered from the same indexes as the exact lookup. Used to find where a
 * customer's name ends in "<customer> <more text>".
 */
export async function exactMatchesOf(db: DbOrTrx, texts: readonly string[], perText = 5): Promise<Map<string, Candidate[]>> {
  const out = new Map<string, Candidate[]>();
  const queries = texts.map((t) => ({ t, q: readLookupQuery(t) })).filter((x) => x.q.raw);
  if (queries.length === 0) return out;
  const { rows } = await sql<CandidateRow & { i: number }>`
    SELECT DISTINCT ON (x.i, c.id) x.i, c.id::text AS id, c.name, c.domain, c.external_id
    FROM unnest(${queries.map((x) => x.q.raw)}::text[], ${queries.map((x) => x.q.text)}::text[], ${queries.map((x) => x.q.domain ?? '')}::text[])
      WITH ORDINALITY AS x(raw, text, domain, i)
    CROSS JOIN LATERAL (
      (SELECT id, name, domain, external_id FROM customers WHERE lower(external_id) = lower(x.raw) LIMIT ${perText})
      UNION ALL
      (SELECT id, name, domain, external_id FROM customers WHERE x.text <> '' AND search_name = x.text LIMIT ${perText})
      UNION ALL
      (SELECT id, name, domain, external_id FROM customers WHERE x.domain <> '' AND lower(domain) = x.domain LIMIT ${perText})
    ) c`.execute(db);
  for (const r of rows) {
    const text = queries[Number(r.i) - 1]!.t;
    const list = out.get(text) ?? [];
    list.push(candidate(r, 1));
    out.set(text, list);
  }
  return out;
}
