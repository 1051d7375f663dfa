import type { FileConfig } from '../config/index.js';
import { checkCustomer, checkEvent, type EventInput } from './rows.rules.js';
import { emailDomain, normalizeDomain, nulProblem, type Candidate, type CustomerMergeRow, type Rejection } from './api.rules.js';

/**
 * Segment tracking-API payloads → what to store. Pure: takes the parsed body
 * and the `ingest.segment` config, returns a plan the service executes in
 * one transaction (groups first, so a `track` later in the same batch finds
 * the customer a `group` just named).
 *
 * - `group`: groupId is the customer's external id; its traits create or
 *   update the customer (name required to create); userId is linked to it.
 * - `identify`: links userId to the customer its traits name.
 * - `track`: one signal; kind and value from `events` config; customer from
 *   the `match` rules; messageId is the signal's external id (idempotency).
 */
export type SegmentConfig = FileConfig['ingest']['segment'];

export interface SegmentGroup {
  index: number;
  customer: CustomerMergeRow;
  userId: string | null;
}
export interface SegmentIdentify {
  index: number;
  userId: string;
}
export interface SegmentTrack {
  index: number;
  event: EventInput;
}
export interface SegmentPlan {
  groups: SegmentGroup[];
  identifies: SegmentIdentify[];
  tracks: SegmentTrack[];
  /** Customer candidates of identifies and tracks, by item index. */
  candidates: Candidate[];
  rejected: Rejection[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The value at a dotted path ("context.traits.email"), or undefined. */
export function valueAt(root: unknown, path: string): unknown {
  let at: unknown = root;
  for (const part of path.split('.')) {
    if (!isObj(at)) return undefined;
    at = at[part];
  }
  return at;
}

function text(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  return s === '' ? null : s;
}

function firstText(root: unknown, paths: readonly string[]): string | null {
  for (const p of paths) {
    const v = text(valueAt(root, p));
    if (v !== null) return v;
  }
  return null;
}

/** The messages of a body: `{batch: […]}`, a single message, or a bare array; batch-level context and sentAt apply to messages without their own. */
export function messagesOf(body: unknown): { ok: true; messages: unknown[] } | { ok: false; message: string } {
  if (Array.isArray(body)) return { ok: true, messages: body };
  if (!isObj(body)) return { ok: false, message: 'expected a Segment message or {"batch": [...]}' };
  if (!('batch' in body)) return { ok: true, messages: [body] };
  if (!Array.isArray(body.batch)) return { ok: false, message: '"batch" must be an array of messages' };
  const { context, sentAt } = body;
  return {
    ok: true,
    messages: body.batch.map((m) => (isObj(m) ? { ...(context !== undefined ? { context } : {}), ...(sentAt !== undefined ? { sentAt } : {}), ...m } : m)),
  };
}

export function candidatesOf(index: number, message: Obj, config: SegmentConfig): Candidate[] {
  const out: Candidate[] = [];
  config.match.forEach((rule, rank) => {
    const raw = text(valueAt(message, rule.path));
    if (raw === null) return;
    let value: string | null = raw;
    if (rule.as === 'domain') value = normalizeDomain(raw);
    else if (rule.as === 'email_domain') value = emailDomain(raw, config.ignoreEmailDomains);
    if (value !== null) out.push({ index, rank, kind: rule.as, value });
  });
  return out;
}

/** A group's traits as a customer row; name may be missing when the customer exists already. */
function groupCustomer(
  index: number,
  groupId: string,
  traits: unknown,
  config: SegmentConfig,
): { ok: true; row: CustomerMergeRow } | { ok: false; reason: string } {
  const t = config.groupTraits;
  const name = firstText(traits, t.name);
  const raw = {
    external_id: groupId,
    name: name ?? 'unnamed',
    domain: firstText(traits, t.domain),
    plan: firstText(traits, t.plan),
    arr: firstText(traits, t.arr),
    currency: firstText(traits, t.currency),
    renewal_date: firstText(traits, t.renewal_date),
    owner_slack_id: firstText(traits, t.owner_slack_id),
    team: firstText(traits, t.team),
  };
  if (raw.domain) raw.domain = normalizeDomain(raw.domain) ?? raw.domain;
  const checked = checkCustomer(raw);
  if (!checked.ok) return { ok: false, reason: `traits: ${checked.reason}` };
  return { ok: true, row: { index, ...checked.value, name } };
}

export function planSegment(messages: readonly unknown[], config: SegmentConfig): SegmentPlan {
  const plan: SegmentPlan = { groups: [], identifies: [], tracks: [], candidates: [], rejected: [] };
  const reject = (index: number, reason: string, code: Rejection['code'] = 'invalid') => plan.rejected.push({ index, reason, code });

  messages.forEach((m, index) => {
    if (!isObj(m)) return reject(index, 'message must be a JSON object');
    const nul = nulProblem(m);
    if (nul) return reject(index, nul);
    const type = text(m.type)?.toLowerCase() ?? (text(m.event) ? 'track' : null);
    const userId = text(m.userId);
    switch (type) {
      case 'group': {
        const groupId = text(m.groupId);
        if (!groupId) return reject(index, 'group without groupId');
        const customer = groupCustomer(index, groupId, m.traits, config);
        if (!customer.ok) return reject(index, customer.reason);
        plan.groups.push({ index, customer: customer.row, userId });
        return;
      }
      case 'identify': {
        if (!userId) return reject(index, 'identify without userId: nothing to link (anonymous users are not stored)');
        plan.identifies.push({ index, userId });
        plan.candidates.push(...candidatesOf(index, m, config));
        return;
      }
      case 'track': {
        const name = text(m.event);
        if (!name) return reject(index, 'track without event name');
        const mapping = config.events[name] ?? config.events['*'];
        if (!mapping) return reject(index, `event "${name}" is not mapped to a signal kind (add it to ingest.segment.events)`, 'unmapped_event');
        const occurredAt = text(m.timestamp) ?? text(m.originalTimestamp) ?? text(m.sentAt);
        if (!occurredAt) return reject(index, 'timestamp is missing (send timestamp or originalTimestamp)');
        const value = mapping.value ? valueAt(m, mapping.value) : undefined;
        if (value !== undefined && value !== null && typeof value !== 'number' && typeof value !== 'string') {
          return reject(index, `${mapping.value} is not a number`);
        }
        const checked = checkEvent({
          customer_external_id: userId ?? text(m.anonymousId) ?? 'segment',
          kind: mapping.kind,
          occurred_at: occurredAt,
          value,
          external_id: text(m.messageId),
        });
        if (!checked.ok) return reject(index, checked.reason);
        plan.tracks.push({ index, event: checked.value });
        plan.candidates.push(...candidatesOf(index, m, config));
        return;
      }
      case null:
        return reject(index, 'message has no type (use track, identify, group or batch)', 'unsupported_type');
      default:
        return reject(index, `type "${type}" is not supported (use track, identify, group or batch)`, 'unsupported_type');
    }
  });
  return plan;
}
