import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type pg from 'pg';
import type { Db } from '../platform/db.js';
import { mergeCustomers } from './customer-merge.repository.js';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { headerIndex, readCsv, type CsvRecord } from './csv.js';
import {
  checkCustomer,
  checkEvent,
  CUSTOMER_COLUMNS,
  CUSTOMER_REQUIRED,
  EVENT_COLUMNS,
  EVENT_REQUIRED,
  type CustomerInput,
  type EventInput,
} from './rows.rules.js';

/**
 * CSV imports. Rows are validated in TypeScript (every bad row reported with
 * its line number and reason), good rows are streamed into a temporary table
 * with COPY, then merged with one set-based statement. Re-importing a file
 * changes nothing: customers upsert only when a value differs, signals are
 * keyed by (customer, kind, time, external id or row hash).
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

/** Customers merged per statement: large enough to be bulk, small enough for the parameter arrays. */
const CUSTOMER_CHUNK = 5_000;

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

async function copyInto(client: pg.PoolClient, table: string, columns: string[], lines: AsyncIterable<string>): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  // Batch lines into ~1 MB writes: far fewer stream callbacks than one per row.
  async function* batched() {
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
  await pipeline(Readable.from(batched()), stream);
}

// ───────────────────────── customers ─────────────────────────

export async function importCustomers(db: Db, file: string | AsyncIterable<string | Buffer>, label = String(file)): Promise<ImportReport> {
  const started = performance.now();
  const problems: RowProblem[] = [];
  let rows = 0;
  // The later row for an external id wins; earlier ones are reported.
  const good = new Map<string, { line: number; row: CustomerInput }>();
  let index: Record<string, number> | null = null;
  for await (const rec of recordsOf(file)) {
    if (!index) {
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
    const earlier = good.get(checked.value.externalId);
    if (earlier) problems.push({ line: earlier.line, reason: `external_id ${checked.value.externalId} appears again on line ${rec.line}; the later row was used` });
    good.set(checked.value.externalId, { line: rec.line, row: checked.value });
  }
  if (!index) throw new ImportError(`${label}: the file is empty (expected a header: ${CUSTOMER_COLUMNS.join(',')})`);

  // One set-based merge per chunk (shared with the ingest API), in one transaction.
  const entries = [...good.values()];
  const counts = { inserted: 0, updated: 0, unchanged: 0 };
  await db.transaction().execute(async (trx) => {
    for (let at = 0; at < entries.length; at += CUSTOMER_CHUNK) {
      const chunk = entries.slice(at, at + CUSTOMER_CHUNK);
      const merged = await mergeCustomers(trx, chunk.map((e, i) => ({ ...e.row, index: i })), 'set by CSV import', 'import');
      for (const m of merged) {
        const { line, row } = chunk[m.index]!;
        if (m.problem === 'unknown_team') problems.push({ line, reason: `team "${row.team}" is unknown (add it with: retain team add ${row.team} --name …)` });
        else if (m.problem === 'unknown_owner') problems.push({ line, reason: `owner ${row.ownerSlackId} is not a member (add them with: retain member add ${row.ownerSlackId} --team … --role rep)` });
        else if (m.problem) problems.push({ line, reason: m.problem });
        else counts[m.outcome as keyof typeof counts]++;
      }
    }
  });
  problems.sort((a, b) => a.line - b.line);
  return { file: label, rows, loaded: counts.inserted + counts.updated + counts.unchanged, ...counts, problems, ms: performance.now() - started };
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

export async function importEvents(
  pool: pg.Pool,
  file: string | AsyncIterable<string | Buffer>,
  label = String(file),
  source = 'csv',
): Promise<ImportReport> {
  const started = performance.now();
  const client = await pool.connect();
  const problems: RowProblem[] = [];
  let rows = 0;
  let loaded = 0;
  try {
    await client.query('BEGIN');
    await client.query(`CREATE TEMP TABLE stage_events (
      line integer, customer_external_id text, kind text, occurred_at timestamptz, value numeric(18, 4), external_id text, dedupe_key text
    ) ON COMMIT DROP`);
    let headerSeen = false;
    let index: Record<string, number> = {};
    async function* lines() {
      for await (const rec of recordsOf(file)) {
        if (!headerSeen) {
          const h = headerIndex(rec.fields, EVENT_COLUMNS, EVENT_REQUIRED);
          if (h.missing.length) throw new ImportError(`${label}: header is missing column(s) ${h.missing.join(', ')}; expected ${EVENT_COLUMNS.join(',')}`);
          index = h.index;
          headerSeen = true;
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
        loaded++;
        yield `${rec.line}\t${copyField(e.customerExternalId)}\t${e.kind}\t${e.occurredAt}\t${copyField(e.value)}\t${copyField(e.externalId)}\t${copyField(signalDedupeKey(e))}\n`;
      }
    }
    await copyInto(client, 'stage_events', ['line', 'customer_external_id', 'kind', 'occurred_at', 'value', 'external_id', 'dedupe_key'], lines());
    if (!headerSeen) throw new ImportError(`${label}: the file is empty (expected a header: ${EVENT_COLUMNS.join(',')})`);

    const unknown = await client.query<{ line: number; customer_external_id: string }>(`
      SELECT s.line, s.customer_external_id FROM stage_events s
      WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.external_id = s.customer_external_id)
      ORDER BY s.line LIMIT 100000`);
    for (const u of unknown.rows) problems.push({ line: u.line, reason: `customer ${u.customer_external_id} is unknown (import it first with: retain import customers)` });

    const result = await client.query<{ inserted: string }>(
      `WITH ins AS (
        INSERT INTO signals (customer_id, kind, occurred_at, value, external_id, dedupe_key, source)
        SELECT c.id, s.kind, s.occurred_at, s.value, s.external_id, s.dedupe_key, $1
        FROM stage_events s JOIN customers c ON c.external_id = s.customer_external_id
        ON CONFLICT (customer_id, kind, occurred_at, dedupe_key) DO NOTHING
        RETURNING customer_id
      ), touched AS (
        UPDATE customers SET data_changed_at = now() WHERE id IN (SELECT DISTINCT customer_id FROM ins)
      )
      SELECT count(*) AS inserted FROM ins`,
      [source],
    );
    await client.query('COMMIT');
    const inserted = Number(result.rows[0]?.inserted ?? 0);
    problems.sort((a, b) => a.line - b.line);
    const matched = loaded - unknown.rows.length;
    return { file: label, rows, loaded: matched, inserted, updated: 0, unchanged: matched - inserted, problems, ms: performance.now() - started };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

export function formatImportReport(kind: 'customers' | 'events', r: ImportReport, maxProblems = 50): string {
  const lines = [
    `${r.file}: ${r.rows} row(s) read, ${r.loaded} loaded (${r.inserted} new${kind === 'customers' ? `, ${r.updated} updated` : ''}, ${r.unchanged} unchanged), ${r.problems.length} rejected — ${(r.ms / 1000).toFixed(2)}s`,
  ];
  for (const p of r.problems.slice(0, maxProblems)) lines.push(`  line ${p.line}: ${p.reason}`);
  if (r.problems.length > maxProblems) lines.push(`  …and ${r.problems.length - maxProblems} more rejected rows`);
  return lines.join('\n');
}

