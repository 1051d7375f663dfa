import type { AppContext } from '../platform/context.js';
import { scoringStatusOf, type ScoringStatus } from '../scores/coverage.service.js';
import { metrics } from '../platform/metrics.js';
import { exactMatchesOf, findCandidates, loadCard, lookupCandidates, nearestNames, type CardData } from './customer.repository.js';
import { decideLookup, type Candidate } from './lookup.rules.js';

/** What a free-text query names: one customer, several to choose from, or none (with the nearest names). */
export type Resolution =
  | { kind: 'found'; customer: Candidate }
  | { kind: 'ambiguous'; query: string; matches: Candidate[] }
  | { kind: 'none'; query: string; nearest: Candidate[] };

/** Resolve a query to a customer. Every command that names a customer goes through here. */
export async function resolveCustomer(ctx: AppContext, query: string): Promise<Resolution> {
  const started = performance.now();
  const { match, candidates } = await lookupCandidates(ctx.readDb, query);
  metrics.lookupLatency.observe({ match }, (performance.now() - started) / 1000);
  const decision = decideLookup(candidates);
  if (decision.kind === 'card') return { kind: 'found', customer: decision.customer };
  if (decision.kind === 'choose') return { kind: 'ambiguous', query, matches: decision.matches };
  const nearest = decision.nearest.length ? decision.nearest : await nearestNames(ctx.readDb, query);
  return { kind: 'none', query, nearest };
}

/** For each text, the customers it names exactly (external id, name or domain). */
export function customersNamedExactly(ctx: AppContext, texts: readonly string[]): Promise<Map<string, Candidate[]>> {
  return exactMatchesOf(ctx.readDb, texts);
}

/** Customers matching what someone is typing (a select's search box), best first. */
export async function searchCustomers(ctx: AppContext, query: string, limit: number): Promise<Candidate[]> {
  const q = query.trim().slice(0, 200);
  return q ? findCandidates(ctx.readDb, q, limit) : [];
}

/**
 * Everything the lookup card shows — with whether its score is being computed right now — or null when the customer is gone.
 * Read where this customer's latest change is (a touch just logged shows on the next card).
 */
export async function loadCustomerCard(ctx: AppContext, customerId: string): Promise<(CardData & { scoring: ScoringStatus }) | null> {
  const db = await ctx.reads.for({ customerIds: [customerId] });
  const [card, scoring] = await Promise.all([loadCard(db, customerId), scoringStatusOf(ctx, customerId, db)]);
  return card ? { ...card, scoring } : null;
}
