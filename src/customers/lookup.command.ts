import type { CustomerCommand } from '../commands/command.parser.js';
import type { AppContext } from '../platform/context.js';
import type { Reply } from '../slack/blocks.js';
import type { CommandInput } from '../slack/slash.js';
import { sparkline } from '../scoring/sparkline.js';
import { chooseReply, customerCard, notFoundReply } from './card.blocks.js';
import type { Candidate } from './lookup.rules.js';
import { loadCustomerCard, resolveCustomer } from './lookup.service.js';

/**
 * The customer a command names, or the reply that asks the person to choose
 * (ambiguous) or suggests the nearest names (not found). `resume` gives, for
 * a candidate, the button value that finishes the person's command for it
 * (null: the button opens the card instead).
 */
export async function customerOrReply(
  ctx: AppContext,
  query: string,
  resume?: (c: Candidate) => string | null,
): Promise<{ customer: Candidate; reply?: undefined } | { customer?: undefined; reply: Reply }> {
  const r = await resolveCustomer(ctx, query);
  if (r.kind === 'found') return { customer: r.customer };
  if (r.kind === 'ambiguous') return { reply: chooseReply(r.query, r.matches, resume) };
  return { reply: notFoundReply(r.query, r.nearest) };
}

/** The lookup card of one customer, or null when it no longer exists. */
export async function cardReply(ctx: AppContext, customerId: string, opts: { shareable?: boolean } = {}): Promise<Reply | null> {
  const card = await loadCustomerCard(ctx, customerId);
  if (!card) return null;
  return customerCard(card, { now: ctx.clock.now(), trend: card.history.length > 1 ? sparkline(card.history, { min: 0, max: 100 }) : '', ...opts });
}

/** `/customer <query>`: the card of the best match, a choice, or the nearest names. */
export async function lookupCommand(ctx: AppContext, _input: CommandInput, cmd: Extract<CustomerCommand, { kind: 'lookup' }>): Promise<Reply> {
  const found = await customerOrReply(ctx, cmd.query);
  if (found.reply) return found.reply;
  return (await cardReply(ctx, found.customer.id)) ?? notFoundReply(cmd.query, []);
}
