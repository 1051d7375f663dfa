import type { AppContext } from '../platform/context.js';
import { commandNaming, type CustomerCommand, type FeedbackCommand } from '../slack/command.parser.js';
import type { Reply } from '../slack/blocks.js';
import { sparkline } from '../scoring/sparkline.js';
import { chooseReply, customerCard, notFoundReply } from './card.blocks.js';
import { findCandidates, loadCard, nearestNames } from './customer.repository.js';
import { decideLookup, type Candidate } from './lookup.rules.js';

/** The command being run, so a "which one?" choice can finish it. */
export interface Resume {
  command: '/customer' | '/feedback';
  parsed: CustomerCommand | FeedbackCommand;
}

export type Resolution = { kind: 'found'; customer: Candidate } | { kind: 'reply'; reply: Reply };

/**
 * Resolve a free-text query to one customer, or to the reply that asks the
 * person to choose (ambiguous) or suggests the nearest names (not found).
 * Every command that names a customer goes through here.
 */
export async function resolveCustomer(ctx: AppContext, query: string, resume?: Resume): Promise<Resolution> {
  const candidates = await findCandidates(ctx.readDb, query);
  const decision = decideLookup(candidates);
  if (decision.kind === 'card') return { kind: 'found', customer: decision.customer };
  if (decision.kind === 'choose') {
    const next = resume ? (c: Candidate) => {
      const text = commandNaming(resume.parsed, c.externalId);
      return text === null ? null : JSON.stringify({ c: resume.command, t: text });
    } : undefined;
    return { kind: 'reply', reply: chooseReply(query, decision.matches, next) };
  }
  const nearest = decision.nearest.length ? decision.nearest : await nearestNames(ctx.readDb, query);
  return { kind: 'reply', reply: notFoundReply(query, nearest) };
}

export async function cardReply(ctx: AppContext, customerId: string, opts: { shareable?: boolean } = {}): Promise<Reply | null> {
  const card = await loadCard(ctx.readDb, customerId);
  if (!card) return null;
  return customerCard(card, { now: ctx.clock.now(), trend: card.history.length > 1 ? sparkline(card.history, { min: 0, max: 100 }) : '', ...opts });
}

/** `/customer <query>`: the card of the best match, a choice, or the nearest names. */
export async function lookupCustomer(ctx: AppContext, query: string): Promise<Reply> {
  const resolved = await resolveCustomer(ctx, query);
  if (resolved.kind === 'reply') return resolved.reply;
  return (await cardReply(ctx, resolved.customer.id)) ?? notFoundReply(query, []);
}
