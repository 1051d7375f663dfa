import { leadingRuns, withQuotedCustomer, type CustomerCommand, type FeedbackCommand } from '../commands/command.parser.js';
import type { AppContext } from '../platform/context.js';
import type { Reply } from '../slack/blocks.js';
import type { CommandInput } from '../slack/slash.js';
import { sparkline } from '../scoring/sparkline.js';
import { chooseReply, customerCard, notFoundReply } from './card.blocks.js';
import type { Candidate } from './lookup.rules.js';
import { customersNamedExactly, loadCustomerCard, resolveCustomer } from './lookup.service.js';

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

type Settleable = Extract<CustomerCommand, { kind: 'claim' | 'log' }> | Extract<FeedbackCommand, { kind: 'feedback' }>;

/**
 * A command typed as "<customer> <more text>" with no quotes or separator
 * (`/feedback falcon hospitality group #praise …`): the customer is the
 * longest leading run of words that names customers exactly (name, domain
 * or external id, case and accents folded) and leaves a valid command
 * behind; the command comes back rewritten as if that name had been quoted.
 * When several customers share that exact name, the "which one?" choice
 * follows from it. When no run names anyone exactly, the command is
 * returned as parsed and the usual fuzzy lookup runs on its guess.
 */
export async function settleLeadingCustomer<C extends Settleable>(ctx: AppContext, cmd: C): Promise<C> {
  if (!cmd.rest) return cmd;
  const runs = leadingRuns(cmd.rest);
  const named = await customersNamedExactly(
    ctx,
    runs.map((r) => r.prefix),
  );
  for (const run of runs) {
    if (!named.get(run.prefix)?.length) continue;
    const rewritten = withQuotedCustomer(cmd.kind, run.prefix, run.remainder);
    if (rewritten?.kind === cmd.kind) return rewritten as C;
  }
  return cmd;
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
