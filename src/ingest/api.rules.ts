import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { checkCustomer, checkEvent, type CustomerInput, type EventInput } from './rows.rules.js';

/**
 * Pure decisions of the ingest API: credentials, batch shape and per-item
 * validation. Values in, values out; the HTTP edge and the database live in
 * ingest.routes.ts and api.repository.ts.
 */

/** Why an item was not stored; `code` is the low-cardinality metrics label. */
export interface Rejection {
  index: number;
  reason: string;
  code: RejectionCode;
}
export type RejectionCode =
  | 'invalid'
  | 'unknown_customer'
  | 'unknown_team'
  | 'unknown_owner'
  | 'duplicate_in_batch'
  | 'cannot_create'
  | 'unmapped_event'
  | 'no_customer'
  | 'unsupported_type';

/** What every ingest endpoint answers: each item is exactly one of accepted, duplicate or rejected. */
export interface IngestOutcome {
  /** Items that changed something (a new signal, a new or updated customer). */
  accepted: number;
  /** Valid items already held: a replay changes nothing. */
  duplicates: number;
  rejected: { index: number; reason: string }[];
}

// ───────────────────────── credentials ─────────────────────────

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: both sides are hashed to equal-length digests first. */
export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (given === null || given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** The credential of an Authorization header: a bearer token, or the user name of basic auth (Segment's write key). */
export function credentialOf(header: string | undefined, allowBasic: boolean): string | null {
  if (!header) return null;
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return m[2]!;
  if (scheme === 'basic' && allowBasic) {
    const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? decoded : decoded.slice(0, colon);
  }
  return null;
}

// ───────────────────────── batch shape ─────────────────────────

export type Parsed<T> = { ok: true; value: T } | { ok: false; status: 400 | 413; message: string };

export function parseJson(text: string): Parsed<unknown> {
  if (text.trim() === '') return { ok: false, status: 400, message: 'body is empty: send a JSON document' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, status: 400, message: `body is not valid JSON (${(e as Error).message})` };
  }
}

/** A JSON array of at most `maxItems` items. */
export function checkArray(value: unknown, what: string, maxItems: number): Parsed<unknown[]> {
  if (!Array.isArray(value)) return { ok: false, status: 400, message: `expected a JSON array of ${what}, like [{…}, {…}]` };
  if (value.length > maxItems)
    return { ok: false, status: 413, message: `too many ${what}: ${value.length} in one request, the limit is ${maxItems}; split the batch` };
  return { ok: true, value };
}

// ───────────────────────── items ─────────────────────────

const scalar = z.union([z.string(), z.number(), z.null()], { message: 'must be a string or a number' }).optional();
const eventItem = z.looseObject({ customer_external_id: scalar, kind: scalar, occurred_at: scalar, value: scalar, external_id: scalar });
const customerItem = z.looseObject({
  external_id: scalar,
  name: scalar,
  domain: scalar,
  plan: scalar,
  arr: scalar,
  currency: scalar,
  renewal_date: scalar,
  owner_slack_id: scalar,
  team: scalar,
  started_at: scalar,
  churned_at: scalar,
});

/**
 * Where a NUL character (U+0000) sits in a JSON value — a key or a string —
 * as a dotted path; null when there is none. Postgres text cannot store it,
 * so such an item is refused on its own instead of failing the whole batch.
 */
export function nulPath(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path || '(value)' : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const here = path ? `${path}.${k.replaceAll('\u0000', '\\u0000')}` : k.replaceAll('\u0000', '\\u0000');
      if (k.includes('\u0000')) return here;
      const found = nulPath(v, here);
      if (found) return found;
    }
  }
  return null;
}

export function nulProblem(item: unknown): string | null {
  const at = nulPath(item);
  return at ? `${at} contains a NUL character (U+0000), which cannot be stored; remove it and send the item again` : null;
}

function shapeProblem(item: unknown, schema: typeof eventItem | typeof customerItem): string | null {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return 'item must be a JSON object';
  const nul = nulProblem(item);
  if (nul) return nul;
  const parsed = schema.safeParse(item);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0]!;
  return `${issue.path.map(String).join('.') || 'item'} ${issue.message}`;
}

export interface CheckedEvent {
  index: number;
  event: EventInput;
}

export function checkEventItems(items: readonly unknown[]): { good: CheckedEvent[]; rejected: Rejection[] } {
  const good: CheckedEvent[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const problem = shapeProblem(item, eventItem);
    if (problem) return rejected.push({ index, reason: problem, code: 'invalid' });
    const checked = checkEvent(item as Record<string, unknown>);
    if (!checked.ok) return rejected.push({ index, reason: checked.reason, code: 'invalid' });
    good.push({ index, event: checked.value });
  });
  return { good, rejected };
}

/** A customer to merge; `name` null means "keep the stored name" (Segment groups without one). */
export interface CustomerMergeRow extends Omit<CustomerInput, 'name'> {
  index: number;
  name: string | null;
}

export function checkCustomerItems(items: readonly unknown[]): { good: CustomerMergeRow[]; rejected: Rejection[] } {
  const byExternalId = new Map<string, CustomerMergeRow>();
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const problem = shapeProblem(item, customerItem);
    if (problem) return rejected.push({ index, reason: problem, code: 'invalid' });
    const checked = checkCustomer(item as Record<string, unknown>);
    if (!checked.ok) return rejected.push({ index, reason: checked.reason, code: 'invalid' });
    // Like the CSV import: the later item with the same external id wins.
    const earlier = byExternalId.get(checked.value.externalId);
    if (earlier)
      rejected.push({
        index: earlier.index,
        reason: `external_id ${checked.value.externalId} appears again at index ${index}; the later item was used`,
        code: 'duplicate_in_batch',
      });
    byExternalId.set(checked.value.externalId, { index, ...checked.value });
  });
  return { good: [...byExternalId.values()].sort((a, b) => a.index - b.index), rejected };
}

export function byIndex<T extends { index: number }>(list: T[]): T[] {
  return list.sort((a, b) => a.index - b.index);
}

/** The answer body: rejections in item order, without the metrics code. */
export function outcomeOf(accepted: number, duplicates: number, rejected: Rejection[]): IngestOutcome {
  return { accepted, duplicates, rejected: byIndex(rejected).map(({ index, reason }) => ({ index, reason })) };
}

export type CandidateKind = 'external_id' | 'domain' | 'email_domain' | 'segment_user' | 'stripe_customer';
/** One way an item might name its customer; lower rank is tried first. */
export interface Candidate {
  index: number;
  rank: number;
  kind: CandidateKind;
  value: string;
}

/** Domain of a site or address: lower case, no scheme, no www., no path. */
export function normalizeDomain(v: string): string | null {
  const d = v
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[/?#:].*$/, '');
  return /^[\p{L}\p{N}.-]+\.[\p{L}\p{N}-]{2,}$/u.test(d) ? d : null;
}

/** The domain of an email address, unless it is a public mail provider. */
export function emailDomain(email: string, ignore: readonly string[]): string | null {
  const at = email.lastIndexOf('@');
  if (at < 1) return null;
  const d = normalizeDomain(email.slice(at + 1));
  return d && !ignore.includes(d) ? d : null;
}
