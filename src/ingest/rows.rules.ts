import { SIGNAL_KINDS, type SignalKind } from './signal.table.js';

/**
 * Pure validation of one customer or event, shared by the CSV import and the
 * HTTP ingest API. An empty value means unknown, never an error (DESIGN.md §4).
 */
export const CUSTOMER_COLUMNS = [
  'external_id',
  'name',
  'domain',
  'plan',
  'arr',
  'currency',
  'renewal_date',
  'owner_slack_id',
  'team',
  // Optional: when the contract began and, for a lost customer, when it ended —
  // what the renewal (sBG) model and the contractual backtest learn from.
  'started_at',
  'churned_at',
] as const;
export const CUSTOMER_REQUIRED = ['external_id', 'name'] as const;
export const EVENT_COLUMNS = ['customer_external_id', 'kind', 'occurred_at', 'value', 'external_id'] as const;
export const EVENT_REQUIRED = ['customer_external_id', 'kind', 'occurred_at'] as const;

export interface CustomerInput {
  externalId: string;
  name: string;
  domain: string | null;
  plan: string | null;
  arr: string | null;
  currency: string | null;
  renewalDate: string | null;
  ownerSlackId: string | null;
  team: string | null;
  /** ISO timestamp of the contract start, when known. */
  startedAt: string | null;
  /** ISO timestamp of the churn, when known: a customer with one is churned. */
  churnedAt: string | null;
}

export interface EventInput {
  customerExternalId: string;
  kind: SignalKind;
  occurredAt: string;
  value: string | null;
  externalId: string | null;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/**
 * Longest value each column takes: a cell past its cap is rejected, never
 * stored (a megabyte in `plan` would otherwise land on every card and digest).
 */
export const MAX_LENGTH = {
  externalId: 200,
  name: 300,
  domain: 253,
  /** A domain cell may hold a URL (scheme, www., path dropped on reading). */
  domainCell: 2_048,
  plan: 100,
  team: 100,
  ownerSlackId: 32,
  /** Numbers, dates, currencies, kinds: anything longer is not a valid value anyway. */
  scalar: 40,
} as const;

/** A bad value quoted in a report: at most a short prefix, never a whole megabyte cell. */
export function quoted(v: string, max = 40): string {
  const chars = [...v.slice(0, max + 1)];
  return chars.length > max ? `"${chars.slice(0, max).join('')}…"` : `"${v}"`;
}

function tooLong(column: string, v: string | null, max: number): string | null {
  return v !== null && v.length > max ? `${column} is longer than ${max} characters` : null;
}

function blank(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  const s = (typeof v === 'string' ? v : String(v)).trim();
  return s === '' ? null : s;
}

/** 'YYYY-MM-DD' for a real calendar date, else null. */
export function parseDateOnly(v: string): string | null {
  const m = DATE_ONLY.exec(v);
  if (!m) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) ? v : null;
}

/** ISO 8601 date or timestamp → ISO timestamp string (UTC when no offset is given). */
export function parseTimestamp(v: string): string | null {
  if (parseDateOnly(v)) return `${v}T00:00:00.000Z`;
  if (!DATE_TIME.test(v)) return null;
  const datePart = v.slice(0, 10);
  if (!parseDateOnly(datePart)) return null;
  const hasZone = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(v.slice(10));
  const d = new Date(hasZone ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`);
  if (Number.isNaN(d.getTime())) return null;
  const year = d.getUTCFullYear();
  if (year < 1970 || year > 2100) return null;
  return d.toISOString();
}

const DOMAIN_ASCII = /^[a-z0-9.-]+\.[a-z0-9-]{2,}$/;
const DOMAIN = /^[\p{L}\p{N}.-]+\.[\p{L}\p{N}-]{2,}$/u;
const NON_ASCII = /[\u0080-\uffff]/;
const AMOUNT_NOISE = /[,_\s]/g;

/** A domain as typed, or a URL of it: lower case, without scheme, www. and path. */
function domainOf(v: string): string {
  let d = v.toLowerCase();
  if (d.startsWith('http')) d = d.replace(/^https?:\/\//, '');
  if (d.startsWith('www.')) d = d.slice(4);
  const slash = d.indexOf('/');
  return slash >= 0 ? d.slice(0, slash) : d;
}

/** A decimal amount as written in a spreadsheet (12,000.50 or 12 000): the digits, or null. */
function amountOf(v: string): number | null {
  const cleaned = v.includes(',') || v.includes('_') || v.includes(' ') ? v.replace(AMOUNT_NOISE, '') : v;
  return DECIMAL.test(cleaned) ? Number(cleaned) : null;
}

export function checkCustomer(raw: Record<string, unknown>): Checked<CustomerInput> {
  const externalId = blank(raw.external_id);
  if (!externalId) return { ok: false, reason: 'external_id is missing' };
  if (externalId.length > MAX_LENGTH.externalId) return { ok: false, reason: `external_id is longer than ${MAX_LENGTH.externalId} characters` };
  const name = blank(raw.name);
  if (!name) return { ok: false, reason: 'name is missing' };
  if (name.length > MAX_LENGTH.name) return { ok: false, reason: `name is longer than ${MAX_LENGTH.name} characters` };
  const plan = blank(raw.plan);
  const team = blank(raw.team);
  const domainRaw = blank(raw.domain);
  const arrRaw = blank(raw.arr);
  const currencyRaw = blank(raw.currency);
  const renewalRaw = blank(raw.renewal_date);
  const owner = blank(raw.owner_slack_id);
  const startedRaw = blank(raw.started_at);
  const churnedRaw = blank(raw.churned_at);
  const long =
    tooLong('plan', plan, MAX_LENGTH.plan) ??
    tooLong('team', team, MAX_LENGTH.team) ??
    tooLong('domain', domainRaw, MAX_LENGTH.domainCell) ??
    tooLong('arr', arrRaw, MAX_LENGTH.scalar) ??
    tooLong('currency', currencyRaw, MAX_LENGTH.scalar) ??
    tooLong('renewal_date', renewalRaw, MAX_LENGTH.scalar) ??
    tooLong('owner_slack_id', owner, MAX_LENGTH.ownerSlackId) ??
    tooLong('started_at', startedRaw, MAX_LENGTH.scalar) ??
    tooLong('churned_at', churnedRaw, MAX_LENGTH.scalar);
  if (long) return { ok: false, reason: long };
  const domain = domainRaw ? domainOf(domainRaw) : null;
  if (domain && (domain.length > MAX_LENGTH.domain || !(NON_ASCII.test(domain) ? DOMAIN : DOMAIN_ASCII).test(domain))) {
    return { ok: false, reason: `domain ${quoted(domainRaw!)} is not a domain name (like acme.com)` };
  }
  let arr: string | null = null;
  if (arrRaw !== null) {
    const n = amountOf(arrRaw);
    if (n === null) return { ok: false, reason: `arr ${quoted(arrRaw)} is not a number (write 12000 or 12000.50)` };
    if (n < 0) return { ok: false, reason: 'arr cannot be negative' };
    if (n >= 1e12) return { ok: false, reason: 'arr is too large' };
    arr = n.toFixed(2);
  }
  const currency = currencyRaw ? currencyRaw.toUpperCase() : null;
  if (currency && !/^[A-Z]{3}$/.test(currency)) return { ok: false, reason: `currency ${quoted(currencyRaw!)} is not a 3-letter ISO code (like USD)` };
  let renewalDate: string | null = null;
  if (renewalRaw) {
    renewalDate = parseDateOnly(renewalRaw) ?? parseTimestamp(renewalRaw)?.slice(0, 10) ?? null;
    if (!renewalDate) return { ok: false, reason: `renewal_date ${quoted(renewalRaw)} is not an ISO date (YYYY-MM-DD)` };
  }
  if (owner && !/^[UW][A-Z0-9]{2,}$/.test(owner)) return { ok: false, reason: `owner_slack_id ${quoted(owner)} is not a Slack user id (like U012ABCDEF)` };
  const startedAt = startedRaw ? parseTimestamp(startedRaw) : null;
  if (startedRaw && !startedAt) return { ok: false, reason: `started_at ${quoted(startedRaw)} is not an ISO date (YYYY-MM-DD or a full timestamp)` };
  const churnedAt = churnedRaw ? parseTimestamp(churnedRaw) : null;
  if (churnedRaw && !churnedAt) return { ok: false, reason: `churned_at ${quoted(churnedRaw)} is not an ISO date (YYYY-MM-DD or a full timestamp)` };
  if (startedAt && churnedAt && churnedAt < startedAt) return { ok: false, reason: `churned_at ${churnedRaw} is before started_at ${startedRaw}` };
  return {
    ok: true,
    value: { externalId, name, domain, plan, arr, currency, renewalDate, ownerSlackId: owner, team, startedAt, churnedAt },
  };
}

export function checkEvent(raw: Record<string, unknown>): Checked<EventInput> {
  const customerExternalId = blank(raw.customer_external_id);
  if (!customerExternalId) return { ok: false, reason: 'customer_external_id is missing' };
  const externalId = blank(raw.external_id);
  const kindRaw = blank(raw.kind);
  const occurredRaw = blank(raw.occurred_at);
  const valueRaw = blank(raw.value);
  const long =
    tooLong('customer_external_id', customerExternalId, MAX_LENGTH.externalId) ??
    tooLong('external_id', externalId, MAX_LENGTH.externalId) ??
    tooLong('kind', kindRaw, MAX_LENGTH.scalar) ??
    tooLong('occurred_at', occurredRaw, MAX_LENGTH.scalar) ??
    tooLong('value', valueRaw, MAX_LENGTH.scalar);
  if (long) return { ok: false, reason: long };
  if (!kindRaw) return { ok: false, reason: 'kind is missing' };
  const kind = kindRaw.toLowerCase() as SignalKind;
  if (!(SIGNAL_KINDS as readonly string[]).includes(kind))
    return { ok: false, reason: `kind ${quoted(kindRaw)} is unknown (use one of ${SIGNAL_KINDS.join(', ')})` };
  if (!occurredRaw) return { ok: false, reason: 'occurred_at is missing' };
  const occurredAt = parseTimestamp(occurredRaw);
  if (!occurredAt) return { ok: false, reason: `occurred_at ${quoted(occurredRaw)} is not an ISO date or timestamp` };
  let value: string | null = null;
  if (valueRaw !== null) {
    const n = amountOf(valueRaw);
    if (n === null) return { ok: false, reason: `value ${quoted(valueRaw)} is not a number` };
    if (Math.abs(n) >= 1e14) return { ok: false, reason: 'value is too large' };
    if (kind === 'nps' && (n < 0 || n > 10)) return { ok: false, reason: `nps value ${valueRaw} is outside 0–10` };
    value = String(n);
  } else if (kind === 'nps') {
    return { ok: false, reason: 'nps needs a value 0–10' };
  }
  return { ok: true, value: { customerExternalId, kind, occurredAt, value, externalId } };
}
