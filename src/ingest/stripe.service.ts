import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { Candidate } from './api.rules.js';
import { insertSignalsByCustomerId, resolveCandidates } from './api.repository.js';
import { countIngested, inIngestTransaction } from './api.service.js';
import { signalDedupeKey } from './import.service.js';
import { applySubscription, fillCurrency, markChurned, recordStripeEvent, rememberStripeCustomer } from './stripe.repository.js';
import type { StripePlan } from './stripe.rules.js';

/**
 * Apply one verified Stripe event. The event id is recorded in the same
 * transaction as its effect, so a replay finds it and changes nothing. An
 * event whose customer cannot be matched writes nothing (a later resend,
 * once the customer exists, still applies).
 */
export interface StripeOutcome {
  received: true;
  matched: boolean;
  duplicate?: boolean;
  effect?: string;
}

export async function applyStripeEvent(
  db: Db,
  logger: Logger,
  plan: Extract<StripePlan, { kind: 'apply' }>,
  opts: { statementTimeoutMs: number },
): Promise<StripeOutcome> {
  const candidates: Candidate[] = [];
  if (plan.stripeCustomerId) candidates.push({ index: 0, rank: 0, kind: 'stripe_customer', value: plan.stripeCustomerId });
  if (plan.emailDomain) candidates.push({ index: 0, rank: 1, kind: 'email_domain', value: plan.emailDomain });
  const effect = plan.effect;
  const effectName = effect.kind === 'signal' ? effect.signal.kind : effect.kind;

  const outcome = await inIngestTransaction(db, opts.statementTimeoutMs, async (trx) => {
    const match = (await resolveCandidates(trx, candidates)).get(0);
    if (!match) return { matched: false as const };
    const fresh = await recordStripeEvent(trx, {
      eventId: plan.eventId,
      type: plan.type,
      customerId: match.customerId,
      stripeCustomerId: plan.stripeCustomerId,
      amount: effect.kind === 'signal' ? effect.amount : effect.kind === 'subscription' ? effect.arr : null,
      currency: effect.kind === 'signal' || effect.kind === 'subscription' ? effect.currency : null,
      createdAt: plan.createdAt,
    });
    if (!fresh) return { matched: true as const, duplicate: true };
    if (plan.stripeCustomerId && match.kind !== 'stripe_customer') await rememberStripeCustomer(trx, plan.stripeCustomerId, match.customerId, 'email_domain');
    let insertedByKind: Record<string, number> = {};
    switch (effect.kind) {
      case 'signal': {
        const s = effect.signal;
        const stored = await insertSignalsByCustomerId(
          trx,
          [
            {
              index: 0,
              customerId: match.customerId,
              kind: s.kind,
              occurredAt: s.occurredAt,
              value: s.value,
              externalId: s.externalId,
              dedupeKey: signalDedupeKey({ ...s, customerExternalId: '' }),
            },
          ],
          'stripe',
        );
        insertedByKind = stored.insertedByKind;
        if (effect.currency) await fillCurrency(trx, match.customerId, effect.currency);
        break;
      }
      case 'churned':
        await markChurned(trx, match.customerId, effect.at);
        break;
      case 'subscription':
        await applySubscription(trx, match.customerId, effect);
        break;
    }
    return { matched: true as const, duplicate: false, insertedByKind, matchedBy: match.kind };
  });

  if (!outcome.matched) {
    // Ids and types only: no email, no customer names.
    logger.info(
      { eventId: plan.eventId, type: plan.type, hasCustomerId: plan.stripeCustomerId !== null, hasEmailDomain: plan.emailDomain !== null },
      'stripe event matched no customer',
    );
    return { received: true, matched: false };
  }
  if (outcome.duplicate) {
    logger.debug({ eventId: plan.eventId, type: plan.type }, 'stripe event replayed; ignored');
    return { received: true, matched: true, duplicate: true, effect: effectName };
  }
  if ('insertedByKind' in outcome && outcome.insertedByKind) countIngested('stripe', outcome.insertedByKind);
  return { received: true, matched: true, duplicate: false, effect: effectName };
}
