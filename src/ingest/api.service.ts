import type { Db, Trx } from '../platform/db.js';
import { metrics } from '../platform/metrics.js';
import { signalDedupeKey } from './import.service.js';
import { checkCustomerItems, checkEventItems, outcomeOf, type IngestOutcome, type Rejection } from './api.rules.js';
import { insertSignalsByExternalId, limitStatementTime, mergeCustomers, type MergedCustomer } from './api.repository.js';

/**
 * POST /api/v1/events and /api/v1/customers: validate every item, store the
 * good ones with one set-based statement inside a transaction, answer only
 * after the commit. Metrics count what was committed.
 */
export type IngestSource = 'api' | 'segment' | 'stripe';

export async function inIngestTransaction<T>(db: Db, statementTimeoutMs: number, run: (trx: Trx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await limitStatementTime(trx, statementTimeoutMs);
    return run(trx);
  });
}

export function countRejected(endpoint: string, rejected: readonly Rejection[]): void {
  for (const r of rejected) metrics.itemsRejected.inc({ endpoint, reason: r.code });
}

export function countIngested(source: IngestSource, insertedByKind: Record<string, number>): void {
  for (const [kind, n] of Object.entries(insertedByKind)) if (n > 0) metrics.signalsIngested.inc({ kind, source }, Number(n));
}

export async function ingestEvents(db: Db, items: readonly unknown[], opts: { statementTimeoutMs: number }): Promise<IngestOutcome> {
  const { good, rejected } = checkEventItems(items);
  const rows = good.map(({ index, event }) => ({
    index,
    customerExternalId: event.customerExternalId,
    kind: event.kind,
    occurredAt: event.occurredAt,
    value: event.value,
    externalId: event.externalId,
    dedupeKey: signalDedupeKey(event),
  }));
  const stored = rows.length ? await inIngestTransaction(db, opts.statementTimeoutMs, (trx) => insertSignalsByExternalId(trx, rows, 'api')) : null;
  const unknown = new Set(stored?.unknownIndexes ?? []);
  for (const r of rows) {
    if (unknown.has(r.index)) {
      rejected.push({
        index: r.index,
        reason: `customer ${r.customerExternalId} is unknown (create it first with POST /api/v1/customers)`,
        code: 'unknown_customer',
      });
    }
  }
  countRejected('events', rejected);
  if (stored) countIngested('api', stored.insertedByKind);
  const inserted = stored?.inserted ?? 0;
  return outcomeOf(inserted, rows.length - unknown.size - inserted, rejected);
}

export function mergeProblem(m: MergedCustomer): Rejection | null {
  switch (m.problem) {
    case 'unknown_team':
      return { index: m.index, reason: `team "${m.teamKey}" is unknown (add it with: retain team add ${m.teamKey} --name …)`, code: 'unknown_team' };
    case 'unknown_owner':
      return {
        index: m.index,
        reason: `owner ${m.ownerSlackId} is not a member (add them with: retain member add ${m.ownerSlackId} --team … --role rep)`,
        code: 'unknown_owner',
      };
    case 'cannot_create':
      return { index: m.index, reason: `customer ${m.externalId} is unknown and no name was given to create it`, code: 'cannot_create' };
    default:
      return null;
  }
}

export interface CustomersOutcome extends IngestOutcome {
  created: number;
  updated: number;
}

export async function ingestCustomers(db: Db, items: readonly unknown[], opts: { statementTimeoutMs: number }): Promise<CustomersOutcome> {
  const { good, rejected } = checkCustomerItems(items);
  const merged = good.length ? await inIngestTransaction(db, opts.statementTimeoutMs, (trx) => mergeCustomers(trx, good, 'set by ingest API')) : [];
  let created = 0;
  let updated = 0;
  let unchanged = 0;
  for (const m of merged) {
    const problem = mergeProblem(m);
    if (problem) rejected.push(problem);
    else if (m.outcome === 'inserted') created++;
    else if (m.outcome === 'updated') updated++;
    else unchanged++;
  }
  countRejected('customers', rejected);
  return { ...outcomeOf(created + updated, unchanged, rejected), created, updated };
}
