import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { searchGrams, searchText } from '../customers/lookup.rules.js';
import { kyselyOnClient, poolOf, type Db } from '../platform/db.js';
import {
  analyzeTables,
  createEventStage,
  createIndexes,
  dropSecondaryIndexes,
  EVENT_STAGE_COLUMNS,
  flushGinPendingLists,
  hasFewerRowsThan,
  markStagedCustomersChanged,
  mergeStagedEvents,
  useBulkSettings,
  type IndexDefinition,
} from './bulk-load.repository.js';
import { headerIndex, readCsv, type CsvRecord } from './csv.js';
import {
  createCustomerStage,
  CUSTOMER_STAGE_COLUMNS,
  dropEarlierStagedDuplicates,
  dropUnresolvedStaged,
  mergeStagedCustomers,
} from './customer-merge.repository.js';
import {
  checkCustomer,
  checkEvent,
  CUSTOMER_COLUMNS,
  CUSTOMER_REQUIRED,
  EVENT_COLUMNS,
  EVENT_REQUIRED,
  quoted,
  type EventInput,
} from './rows.rules.js';

/**
 * CSV imports at COPY speed. Rows are validated in TypeScript as they stream
 * in (every bad row reported with its line number and reason) and the good
 * ones COPY'd into a temporary staging table; set-based statements then merge
 * the stage into the real tables. Re-importing a file changes nothing:
 * customers are rewritten only when a value differs, signals are keyed by
 * (customer, kind, time, external id or row hash). Every load ends with
 * ANALYZE of the tables it grew, so the lookups right after it plan well.
 * Memory stays flat: no row is held after it has been written to the stage.
 */
export interface RowProblem {
  line: number;
  reason: string;
}

export interface ImportReport {
  file: string;
  rows: number;
  loaded: number;
  inserted: number;
  updated: number;
  unchanged: number;
  problems: RowProblem[];
  ms: number;
}

export interface LoadOptions {
  /** Events merged per statement: each merge costs the same however many signals the table holds. */
  eventChunk?: number;
  /** Below this many customers, maintaining indexes row by row is cheap anyway (see INITIAL_LOAD_RATIO). */
  initialLoadMinRows?: number;
}
const DEFAULTS: Required<LoadOptions> = { eventChunk: 250_000, initialLoadMinRows: 50_000 };
/**
 * A customer load bringing at least this many times the rows the table holds
 * builds its secondary indexes once after the data instead of row by row.
 */
const INITIAL_LOAD_RATIO = 4;

const UNCLOSED_QUOTE = 'a quote opened on this line is never closed; the row was skipped and reading went on with the next line';

export class ImportError extends Error {
  readonly code = 'IMPORT_FILE_INVALID';
}

/** Tab-separated COPY text: escape backslash, tab, newline, carriage return; \N is NULL. */
export function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

async function* recordsOf(file: string | AsyncIterable<string | Buffer>): AsyncGenerator<CsvRecord> {
  const source = typeof file === 'string' ? createReadStream(file, { highWaterMark: 1 << 20 }) : file;
  yield* readCsv(source as AsyncIterable<Buffer>);
}

function toRaw(fields: string[], index: Record<string, number>, columns: readonly string[]): Record<string, string | undefined> {
  const raw: Record<string, string | undefined> = {};
  for (const c of columns) {
    const at = index[c];
    raw[c] = at === undefined ? undefined : fields[at];
  }
  return raw;
}

/** Batch lines into ~1 MB writes: far fewer stream callbacks than one per row. */
async function* batched(lines: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string> {
  let buf = '';
  for await (const l of lines) {
    buf += l;
    if (buf.length > 1 << 20) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

async function copyInto(client: pg.PoolClient, table: string, columns: readonly string[], lines: AsyncIterable<string> | Iterable<string>): Promise<void> {
  await pipeline(Readable.from(batched(lines)), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
}

async function withClient<T>(pool: pg.Pool, run: (db: Db) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await run(kyselyOnClient(client));
  } finally {
    client.release();
  }
}

/** One client for the whole load: COPY and the merge statements share its transaction. */
async function inLoadTransaction<T>(pool: pg.Pool, run: (client: pg.PoolClient, trx: Db) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const trx = kyselyOnClient(client);
  try {
    await client.query('BEGIN');
    await useBulkSettings(trx);
    const out = await run(client, trx);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

// ───────────────────────── customers ─────────────────────────

export async function importCustomers(
  db: Db,
  file: string | AsyncIterable<string | Buffer>,
  label = String(file),
  options: LoadOptions = {},
): Promise<ImportReport> {
  const opts = { ...DEFAULTS, ...options };
  const started = performance.now();
  const problems: RowProblem[] = [];
  let rows = 0;
  let staged = 0;

  const merged = await inLoadTransaction(poolOf(db), async (client, trx) => {
    await createCustomerStage(trx);
    let index: Record<string, number> | null = null;
    async function* lines(): AsyncGenerator<string> {
      for await (const rec of recordsOf(file)) {
        if (!index) {
          if (rec.problem) throw new ImportError(`${label}: line ${rec.line}, the header, opens a quote it never closes`);
          const h = headerIndex(rec.fields, CUSTOMER_COLUMNS, CUSTOMER_REQUIRED);
          if (h.missing.length) throw new ImportError(`${label}: header is missing column(s) ${h.missing.join(', ')}; expected ${CUSTOMER_COLUMNS.join(',')}`);
          index = h.index;
          continue;
        }
        rows++;
        if (rec.problem) {
          problems.push({ line: rec.line, reason: UNCLOSED_QUOTE });
          continue;
        }
        const checked = checkCustomer(toRaw(rec.fields, index, CUSTOMER_COLUMNS));
        if (!checked.ok) {
          problems.push({ line: rec.line, reason: checked.reason });
          continue;
        }
        const c = checked.value;
        const search = searchText(c.name);
        staged++;
        yield `${rec.line}\t${copyField(c.externalId)}\t${copyField(c.name)}\t${copyField(search)}\t${copyField(searchGrams(search))}\t${copyField(c.domain)}\t${copyField(c.plan)}\t${copyField(c.arr)}\t${copyField(c.currency)}\t${copyField(c.renewalDate)}\t${copyField(c.ownerSlackId)}\t${copyField(c.team)}\n`;
      }
    }
    await copyInto(client, 'stage_customers', CUSTOMER_STAGE_COLUMNS, lines());
    if (!index) throw new ImportError(`${label}: the file is empty (expected a header: ${CUSTOMER_COLUMNS.join(',')})`);

    for (const d of await dropEarlierStagedDuplicates(trx)) {
      for (let k = 0; k + 1 < d.lines.length; k++) {
        problems.push({ line: d.lines[k]!, reason: `external_id ${d.externalId} appears again on line ${d.lines[k + 1]}; the later row was used` });
      }
    }
    for (const u of await dropUnresolvedStaged(trx)) {
      problems.push({
        line: u.line,
        reason:
          u.problem === 'unknown_team'
            ? `team ${quoted(u.teamKey!)} is unknown (add it with: retain team add ${u.teamKey} --name …)`
            : `owner ${u.ownerSlackId} is not a member (add them with: retain member add ${u.ownerSlackId} --team … --role rep)`,
      });
    }

    // A first load (or one far larger than the book) builds the secondary indexes once, after the rows.
    let rebuild: IndexDefinition[] = [];
    if (staged >= opts.initialLoadMinRows && (await hasFewerRowsThan(trx, 'customers', Math.ceil(staged / INITIAL_LOAD_RATIO)))) {
      rebuild = await dropSecondaryIndexes(trx, 'customers');
    }
    const first = await mergeStagedCustomers(trx, 'set by CSV import', 'import');
    let { updated } = first;
    // New external ids another writer inserted meanwhile: a second pass finds them existing and updates them.
    for (let pass = 0, raced = first.raced; raced > 0 && pass < 3; pass++) {
      const again = await mergeStagedCustomers(trx, 'set by CSV import', 'import');
      updated += again.updated;
      raced = again.raced;
    }
    await createIndexes(trx, rebuild);
    if (rebuild.length === 0) await flushGinPendingLists(trx, 'customers');
    await flushGinPendingLists(trx, 'customer_words');
    return { staged: first.staged, inserted: first.inserted, updated };
  });
  if (merged.inserted + merged.updated > 0) await analyzeTables(db, ['customers', 'customer_words']);

  problems.sort((a, b) => a.line - b.line);
  const unchanged = merged.staged - merged.inserted - merged.updated;
  return { file: label, rows, loaded: merged.staged, inserted: merged.inserted, updated: merged.updated, unchanged, problems, ms: performance.now() - started };
}

// ───────────────────────── events ─────────────────────────

/**
 * Identity of a signal without an external id: a hash of what it says, so the
 * same row imported twice (or twice in one file) is one signal.
 */
export function signalDedupeKey(e: Pick<EventInput, 'customerExternalId' | 'kind' | 'occurredAt' | 'value' | 'externalId'>): string {
  if (e.externalId) return `x:${e.externalId}`;
  return `h:${createHash('sha1').update(`${e.customerExternalId}\u0000${e.kind}\u0000${e.occurredAt}\u0000${e.value ?? ''}`).digest('base64url')}`;
}

/** Unknown-customer rows reported per load, at most. */
const MAX_UNKNOWN_REPORTED = 100_000;

export async function importEvents(
  pool: pg.Pool,
  file: string | AsyncIterable<string | Buffer>,
  label = String(file),
  source = 'csv',
  options: LoadOptions = {},
): Promise<ImportReport> {
  const opts = { ...DEFAULTS, ...options };
  const started = performance.now();
  const problems: RowProblem[] = [];
  let rows = 0;
  let matched = 0;
  let inserted = 0;

  await inLoadTransaction(pool, async (client, trx) => {
    await createEventStage(trx);
    let index: Record<string, number> | null = null;
    const records = recordsOf(file)[Symbol.asyncIterator]();
    let done = false;

    /** The next chunk of good rows as COPY text (bad rows reported on the way). */
    async function nextChunk(): Promise<string[]> {
      const out: string[] = [];
      let buf = '';
      let chunkRows = 0;
      while (!done && chunkRows < opts.eventChunk) {
        const it = await records.next();
        if (it.done) {
          done = true;
          break;
        }
        const rec = it.value;
        if (!index) {
          if (rec.problem) throw new ImportError(`${label}: line ${rec.line}, the header, opens a quote it never closes`);
          const h = headerIndex(rec.fields, EVENT_COLUMNS, EVENT_REQUIRED);
          if (h.missing.length) throw new ImportError(`${label}: header is missing column(s) ${h.missing.join(', ')}; expected ${EVENT_COLUMNS.join(',')}`);
          index = h.index;
          continue;
        }
        rows++;
        if (rec.problem) {
          problems.push({ line: rec.line, reason: UNCLOSED_QUOTE });
          continue;
        }
        const checked = checkEvent(toRaw(rec.fields, index, EVENT_COLUMNS));
        if (!checked.ok) {
          problems.push({ line: rec.line, reason: checked.reason });
          continue;
        }
        const e = checked.value;
        buf += `${rec.line}\t${copyField(e.customerExternalId)}\t${e.kind}\t${e.occurredAt}\t${copyField(e.value)}\t${copyField(e.externalId)}\t${copyField(signalDedupeKey(e))}\n`;
        chunkRows++;
        if (buf.length > 1 << 20) {
          out.push(buf);
          buf = '';
        }
      }
      if (buf) out.push(buf);
      return out;
    }

    // Parse the next chunk while the database merges the current one.
    let pending = nextChunk();
    for (;;) {
      const chunk = await pending;
      if (chunk.length === 0) break;
      await copyInto(client, 'stage_events', EVENT_STAGE_COLUMNS, chunk);
      pending = done ? Promise.resolve([]) : nextChunk();
      const merged = await mergeStagedEvents(trx, source, MAX_UNKNOWN_REPORTED - problems.length);
      inserted += merged.inserted;
      matched += merged.matched;
      for (const u of merged.unknown) problems.push({ line: u.line, reason: `customer ${u.customerExternalId} is unknown (import it first with: retain import customers)` });
    }
    if (!index) throw new ImportError(`${label}: the file is empty (expected a header: ${EVENT_COLUMNS.join(',')})`);
    await markStagedCustomersChanged(trx);
  });
  if (inserted > 0) await withClient(pool, (trx) => analyzeTables(trx, ['signals']));

  problems.sort((a, b) => a.line - b.line);
  return { file: label, rows, loaded: matched, inserted, updated: 0, unchanged: matched - inserted, problems, ms: performance.now() - started };
}

export function formatImportReport(kind: 'customers' | 'events', r: ImportReport, maxProblems = 50): string {
  const lines = [
    `${r.file}: ${r.rows} row(s) read, ${r.loaded} loaded (${r.inserted} new${kind === 'customers' ? `, ${r.updated} updated` : ''}, ${r.unchanged} unchanged), ${r.problems.length} rejected — ${(r.ms / 1000).toFixed(2)}s`,
  ];
  for (const p of r.problems.slice(0, maxProblems)) lines.push(`  line ${p.line}: ${p.reason}`);
  if (r.problems.length > maxProblems) lines.push(`  …and ${r.problems.length - maxProblems} more rejected rows`);
  return lines.join('\n');
}
