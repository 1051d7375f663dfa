import * as crypto from 'node:crypto';
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
  dropBtreeIndexes,
  EVENT_STAGE_COLUMNS,
  flushGinPendingLists,
  hasFewerRowsThan,
  markStagedCustomersChanged,
  mergeStagedEvents,
  useBulkSettings,
  type IndexDefinition,
} from './bulk-load.repository.js';
import { headerIndex, readCsvBatches } from './csv.js';
import { FingerprintSet } from './key-set.js';
import {
  addStagedWords,
  createCustomerStage,
  CUSTOMER_STAGE_COLUMNS,
  dropEarlierStagedDuplicates,
  knownTeamsAndMembers,
  mergeStagedCustomers,
  setVocabularyTrigger,
} from './customer-merge.repository.js';
import {
  checkCustomer,
  checkEvent,
  CUSTOMER_COLUMNS,
  CUSTOMER_REQUIRED,
  EVENT_COLUMNS,
  EVENT_REQUIRED,
  quoted,
  type Checked,
  type CustomerInput,
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
  /** Told when each phase of the load ends and how long it took (benchmarks, progress logs). */
  onPhase?: (phase: string, ms: number) => void;
}
const DEFAULTS: Required<LoadOptions> = { eventChunk: 500_000, initialLoadMinRows: 50_000, onPhase: () => undefined };

/** Times consecutive phases: each call reports the time since the previous one. */
function phases(report: (phase: string, ms: number) => void): (phase: string) => void {
  let last = performance.now();
  return (phase) => {
    const now = performance.now();
    report(phase, now - last);
    last = now;
  };
}
/**
 * A customer load bringing at least this many times the rows the table holds
 * builds its secondary indexes once after the data instead of row by row.
 */
const INITIAL_LOAD_RATIO = 4;

const UNCLOSED_QUOTE = 'a quote opened on this line is never closed; the row was skipped and reading went on with the next line';

/** A file that cannot be imported at all (no header, missing columns); the CLI exits 3 with its message. */
export class ImportError extends Error {
  readonly code = 'IMPORT_FILE_INVALID';
  readonly exitCode = 3;
}

/** Tab-separated COPY text: escape backslash, tab, newline, carriage return; \N is NULL. */
const COPY_SPECIAL = /[\\\t\n\r]/;

export function copyField(v: string | null): string {
  if (v === null) return '\\N';
  if (!COPY_SPECIAL.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

interface RowSpec<T> {
  label: string;
  columns: readonly string[];
  required: readonly string[];
  check: (raw: Record<string, string | undefined>) => Checked<T>;
}

interface RowTally {
  rows: number;
  problems: RowProblem[];
}

/**
 * The good rows of a CSV file, validated, one batch per chunk read (about a
 * megabyte): no await per row. Bad rows go to `tally.problems` by line; a
 * file without the required header columns throws before any row is read.
 */
async function* goodRows<T>(file: string | AsyncIterable<string | Buffer>, spec: RowSpec<T>, tally: RowTally): AsyncGenerator<{ line: number; value: T }[]> {
  const source = typeof file === 'string' ? createReadStream(file, { highWaterMark: 1 << 20 }) : file;
  let index: Record<string, number> | null = null;
  // One record of cells reused row after row: the checks copy what they keep.
  const raw: Record<string, string | undefined> = {};
  for await (const batch of readCsvBatches(source as AsyncIterable<Buffer>)) {
    const good: { line: number; value: T }[] = [];
    for (const rec of batch) {
      if (!index) {
        if (rec.problem) throw new ImportError(`${spec.label}: line ${rec.line}, the header, opens a quote it never closes`);
        const h = headerIndex(rec.fields, spec.columns, spec.required);
        if (h.missing.length) throw new ImportError(`${spec.label}: header is missing column(s) ${h.missing.join(', ')}; expected ${spec.columns.join(',')}`);
        index = h.index;
        continue;
      }
      tally.rows++;
      if (rec.problem) {
        tally.problems.push({ line: rec.line, reason: UNCLOSED_QUOTE });
        continue;
      }
      for (const c of spec.columns) {
        const at = index[c];
        raw[c] = at === undefined ? undefined : rec.fields[at];
      }
      const checked = spec.check(raw);
      if (checked.ok) good.push({ line: rec.line, value: checked.value });
      else tally.problems.push({ line: rec.line, reason: checked.reason });
    }
    if (good.length) yield good;
  }
  if (!index) throw new ImportError(`${spec.label}: the file is empty (expected a header: ${spec.columns.join(',')})`);
}

async function copyInto(client: pg.PoolClient, table: string, columns: readonly string[], text: AsyncIterable<string> | Iterable<string>): Promise<void> {
  await pipeline(Readable.from(text), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
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
  const phase = phases(opts.onPhase);
  const problems: RowProblem[] = [];
  let staged = 0;

  const tally: RowTally = { rows: 0, problems };
  const spec: RowSpec<CustomerInput> = { label, columns: CUSTOMER_COLUMNS, required: CUSTOMER_REQUIRED, check: checkCustomer };
  const merged = await inLoadTransaction(poolOf(db), async (client, trx) => {
    await createCustomerStage(trx);
    const known = await knownTeamsAndMembers(trx);
    const seen = new FingerprintSet();
    let maybeRepeated = false;
    async function* copyText(): AsyncGenerator<string> {
      for await (const batch of goodRows(file, spec, tally)) {
        let text = '';
        for (const { line, value: c } of batch) {
          if (c.team !== null && !known.teamKeys.has(c.team.toLowerCase())) {
            problems.push({ line, reason: `team ${quoted(c.team)} is unknown (add it with: retain team add ${c.team} --name …)` });
            continue;
          }
          if (c.ownerSlackId !== null && !known.memberSlackIds.has(c.ownerSlackId)) {
            problems.push({ line, reason: `owner ${c.ownerSlackId} is not a member (add them with: retain member add ${c.ownerSlackId} --team … --role rep)` });
            continue;
          }
          if (seen.add(c.externalId)) maybeRepeated = true;
          const search = searchText(c.name);
          text += `${line}\t${copyField(c.externalId)}\t${copyField(c.name)}\t${copyField(search)}\t${copyField(searchGrams(search))}\t${copyField(c.domain)}\t${copyField(c.plan)}\t${copyField(c.arr)}\t${copyField(c.currency)}\t${copyField(c.renewalDate)}\t${copyField(c.ownerSlackId)}\t${copyField(c.team)}\t${copyField(c.startedAt)}\t${copyField(c.churnedAt)}\n`;
          staged++;
        }
        yield text;
      }
    }
    await copyInto(client, 'stage_customers', CUSTOMER_STAGE_COLUMNS, copyText());
    phase('read and stage');

    // The later row of an external id wins; only a file that repeats one pays for the exact check.
    if (maybeRepeated) {
      for (const d of await dropEarlierStagedDuplicates(trx)) {
        for (let k = 0; k + 1 < d.lines.length; k++) {
          problems.push({ line: d.lines[k]!, reason: `external_id ${d.externalId} appears again on line ${d.lines[k + 1]}; the later row was used` });
        }
      }
      phase('repeated external ids');
    }

    // A first load (or one far larger than the book) builds the btree indexes once, after the rows.
    let rebuild: IndexDefinition[] = [];
    if (staged >= opts.initialLoadMinRows && (await hasFewerRowsThan(trx, 'customers', Math.ceil(staged / INITIAL_LOAD_RATIO)))) {
      rebuild = await dropBtreeIndexes(trx, 'customers');
      await setVocabularyTrigger(trx, false);
      await addStagedWords(trx);
      phase('drop btree indexes, add words');
    }
    const first = await mergeStagedCustomers(trx, 'set by CSV import', 'import');
    let { updated } = first;
    // New external ids another writer inserted meanwhile: a second pass finds them existing and updates them.
    for (let pass = 0, raced = first.raced; raced > 0 && pass < 3; pass++) {
      const again = await mergeStagedCustomers(trx, 'set by CSV import', 'import');
      updated += again.updated;
      raced = again.raced;
    }
    phase('merge');
    if (rebuild.length) {
      await setVocabularyTrigger(trx, true);
      await createIndexes(trx, rebuild);
      phase('build btree indexes');
    }
    await flushGinPendingLists(trx, 'customers');
    await flushGinPendingLists(trx, 'customer_words');
    phase('flush GIN pending lists');
    return { staged: first.staged, inserted: first.inserted, updated };
  });
  phase('commit');
  if (merged.inserted + merged.updated > 0) {
    await analyzeTables(db, ['customers', 'customer_words']);
    phase('analyze');
  }

  problems.sort((a, b) => a.line - b.line);
  const unchanged = merged.staged - merged.inserted - merged.updated;
  return {
    file: label,
    rows: tally.rows,
    loaded: merged.staged,
    inserted: merged.inserted,
    updated: merged.updated,
    unchanged,
    problems,
    ms: performance.now() - started,
  };
}

// ───────────────────────── events ─────────────────────────

/** SHA-1 in base64url; the one-shot `crypto.hash` (Node ≥ 20.12) skips a Hash object per row. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;
const sha1 = oneShot ? (data: string) => oneShot('sha1', data, 'base64url') : (data: string) => crypto.createHash('sha1').update(data).digest('base64url');

/**
 * Identity of a signal without an external id: a hash of what it says, so the
 * same row imported twice (or twice in one file) is one signal.
 */
export function signalDedupeKey(e: Pick<EventInput, 'customerExternalId' | 'kind' | 'occurredAt' | 'value' | 'externalId'>): string {
  if (e.externalId) return `x:${e.externalId}`;
  return `h:${sha1(`${e.customerExternalId}\u0000${e.kind}\u0000${e.occurredAt}\u0000${e.value ?? ''}`)}`;
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
  const phase = phases(opts.onPhase);
  const problems: RowProblem[] = [];
  let matched = 0;
  let inserted = 0;

  const tally: RowTally = { rows: 0, problems };
  const spec: RowSpec<EventInput> = { label, columns: EVENT_COLUMNS, required: EVENT_REQUIRED, check: checkEvent };
  await inLoadTransaction(pool, async (client, trx) => {
    await createEventStage(trx);
    const batches = goodRows(file, spec, tally)[Symbol.asyncIterator]();
    let done = false;
    while (!done) {
      // Each chunk is streamed into the stage as it is read (nothing held here), then merged.
      let count = 0;
      async function* chunkText(): AsyncGenerator<string> {
        while (count < opts.eventChunk) {
          const it = await batches.next();
          if (it.done) {
            done = true;
            return;
          }
          let text = '';
          for (const { line, value: e } of it.value) {
            text += `${line}\t${copyField(e.customerExternalId)}\t${e.kind}\t${e.occurredAt}\t${copyField(e.value)}\t${copyField(e.externalId)}\t${copyField(signalDedupeKey(e))}\n`;
          }
          count += it.value.length;
          yield text;
        }
      }
      await copyInto(client, 'stage_events', EVENT_STAGE_COLUMNS, chunkText());
      phase('read and stage');
      if (count === 0) break;
      const merged = await mergeStagedEvents(trx, source, Math.max(0, MAX_UNKNOWN_REPORTED - problems.length));
      phase('merge');
      inserted += merged.inserted;
      matched += merged.matched;
      for (const u of merged.unknown)
        problems.push({ line: u.line, reason: `customer ${u.customerExternalId} is unknown (import it first with: retain import customers)` });
    }
    await markStagedCustomersChanged(trx);
    phase('mark customers changed');
  });
  phase('commit');
  if (inserted > 0) {
    await withClient(pool, (trx) => analyzeTables(trx, ['signals']));
    phase('analyze');
  }

  problems.sort((a, b) => a.line - b.line);
  return { file: label, rows: tally.rows, loaded: matched, inserted, updated: 0, unchanged: matched - inserted, problems, ms: performance.now() - started };
}

export function formatImportReport(kind: 'customers' | 'events', r: ImportReport, maxProblems = 50): string {
  const lines = [
    `${r.file}: ${r.rows} row(s) read, ${r.loaded} loaded (${r.inserted} new${kind === 'customers' ? `, ${r.updated} updated` : ''}, ${r.unchanged} unchanged), ${r.problems.length} rejected — ${(r.ms / 1000).toFixed(2)}s`,
  ];
  for (const p of r.problems.slice(0, maxProblems)) lines.push(`  line ${p.line}: ${p.reason}`);
  if (r.problems.length > maxProblems) lines.push(`  …and ${r.problems.length - maxProblems} more rejected rows`);
  return lines.join('\n');
}
