import type { Db } from '../platform/db.js';
import { signalDedupeKey } from './import.service.js';
import { outcomeOf, type CustomerMergeRow, type IngestOutcome, type Rejection } from './api.rules.js';
import { insertSignalsByCustomerId, linkSegmentUsers, mergeCustomers, resolveCandidates } from './api.repository.js';
import { countIngested, countRejected, inIngestTransaction, mergeProblem } from './api.service.js';
import { planSegment, type SegmentConfig } from './segment.rules.js';

/**
 * POST /api/v1/segment: one transaction per request, in dependency order —
 * group upserts and user links, then customer matching, then signals — so a
 * batch that names a customer and tracks its events works in one go.
 */

/** Several groups for one account in a batch: later traits win, earlier ones fill the gaps. */
function collapse(rows: readonly CustomerMergeRow[]): CustomerMergeRow[] {
  const byId = new Map<string, CustomerMergeRow>();
  for (const r of rows) {
    const prev = byId.get(r.externalId);
    byId.set(
      r.externalId,
      prev
        ? {
            index: r.index,
            externalId: r.externalId,
            name: r.name ?? prev.name,
            domain: r.domain ?? prev.domain,
            plan: r.plan ?? prev.plan,
            arr: r.arr ?? prev.arr,
            currency: r.currency ?? prev.currency,
            renewalDate: r.renewalDate ?? prev.renewalDate,
            ownerSlackId: r.ownerSlackId ?? prev.ownerSlackId,
            team: r.team ?? prev.team,
            startedAt: r.startedAt ?? prev.startedAt,
            churnedAt: r.churnedAt ?? prev.churnedAt,
          }
        : r,
    );
  }
  return [...byId.values()];
}

const NO_CUSTOMER =
  'no customer matches this message (send a group call for the user first, or context.groupId, traits.external_id, traits.domain or a company email)';

export async function ingestSegment(db: Db, messages: readonly unknown[], config: SegmentConfig, opts: { statementTimeoutMs: number }): Promise<IngestOutcome> {
  const plan = planSegment(messages, config);
  const rejected: Rejection[] = [...plan.rejected];
  let accepted = 0;
  let duplicates = 0;
  let insertedByKind: Record<string, number> = {};

  if (plan.groups.length || plan.identifies.length || plan.tracks.length) {
    const done = await inIngestTransaction(db, opts.statementTimeoutMs, async (trx) => {
      const merged = await mergeCustomers(trx, collapse(plan.groups.map((g) => g.customer)), 'set by Segment group call');
      const byExternalId = new Map(merged.map((m) => [m.externalId, m]));
      const groupLinks = plan.groups.flatMap((g) => {
        const m = byExternalId.get(g.customer.externalId);
        return g.userId && m?.customerId && !m.problem ? [{ userId: g.userId, customerId: m.customerId }] : [];
      });
      const groupLinked = await linkSegmentUsers(trx, groupLinks);
      // Matching runs after the group links, in the same transaction: it sees them.
      const resolved = await resolveCandidates(trx, plan.candidates);
      const identifyLinks = plan.identifies.flatMap((i) => {
        const r = resolved.get(i.index);
        return r ? [{ userId: i.userId, customerId: r.customerId }] : [];
      });
      const identifyLinked = await linkSegmentUsers(trx, identifyLinks);
      const signals = plan.tracks.flatMap((t) => {
        const r = resolved.get(t.index);
        if (!r) return [];
        const e = t.event;
        return [
          {
            index: t.index,
            customerId: r.customerId,
            kind: e.kind,
            occurredAt: e.occurredAt,
            value: e.value,
            externalId: e.externalId,
            dedupeKey: signalDedupeKey(e),
          },
        ];
      });
      const stored = await insertSignalsByCustomerId(trx, signals, 'segment');
      return { byExternalId, groupLinked, resolved, identifyLinked, signals: signals.length, stored };
    });

    const credited = new Set<string>();
    const creditLink = (userId: string | null, linked: Set<string>) => {
      if (!userId || !linked.has(userId) || credited.has(userId)) return false;
      credited.add(userId);
      return true;
    };
    for (const g of plan.groups) {
      const m = done.byExternalId.get(g.customer.externalId)!;
      const problem = mergeProblem({ ...m, index: g.index });
      if (problem) {
        rejected.push(problem);
        continue;
      }
      const changed = m.index === g.index && (m.outcome === 'inserted' || m.outcome === 'updated');
      if (creditLink(g.userId, done.groupLinked) || changed) accepted++;
      else duplicates++;
    }
    for (const i of plan.identifies) {
      if (!done.resolved.has(i.index)) rejected.push({ index: i.index, reason: NO_CUSTOMER, code: 'no_customer' });
      else if (creditLink(i.userId, done.identifyLinked)) accepted++;
      else duplicates++;
    }
    for (const t of plan.tracks) if (!done.resolved.has(t.index)) rejected.push({ index: t.index, reason: NO_CUSTOMER, code: 'no_customer' });
    accepted += done.stored.inserted;
    duplicates += done.signals - done.stored.inserted;
    insertedByKind = done.stored.insertedByKind;
  }
  countRejected('segment', rejected);
  countIngested('segment', insertedByKind);
  return outcomeOf(accepted, duplicates, rejected);
}
