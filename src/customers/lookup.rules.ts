/**
 * Pure decision: given fuzzy-match candidates (best first), show one card,
 * offer a choice, or say nothing matched and suggest the nearest names.
 */
export interface Candidate {
  id: string;
  name: string;
  domain: string | null;
  externalId: string;
  /** 0..1; 1 means an exact match on name, domain or external id. */
  score: number;
}

export type LookupDecision =
  | { kind: 'card'; customer: Candidate }
  | { kind: 'choose'; matches: Candidate[] }
  | { kind: 'none'; nearest: Candidate[] };

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

export function normalizeQuery(query: string): string {
  return query.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');
}
