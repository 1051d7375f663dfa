/**
 * Streaming RFC 4180 CSV reader: quoted fields, doubled quotes, CRLF or LF,
 * newlines inside quotes, a UTF-8 BOM, records split across chunks. Yields each
 * record with the line number it starts on, so a bad row can be reported by line.
 *
 * Two guards keep one bad row from costing the rest of the file:
 * - a field is kept to `maxField` characters (+1, so a validator can still tell
 *   it was too long): a megabyte-long cell costs no memory and is rejected by
 *   the column's own cap;
 * - a quote that is never closed is reported on the line where it opened, and
 *   reading resumes on the next line. A quoted field that runs over a newline is
 *   taken as unclosed when the file ends inside it, when it runs on for more
 *   than `maxQuotedSpan` characters, or when its record ends up with a different
 *   number of fields than the header — a legitimate multi-line cell changes
 *   none of these.
 */
export interface CsvRecord {
  line: number;
  fields: string[];
  /** Set when the record could not be read; `fields` is then empty. */
  problem?: 'unclosed_quote';
}

export interface CsvOptions {
  maxField?: number;
  maxQuotedSpan?: number;
}

enum S {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

const NOT_SET = -1;

class CsvParser {
  private state = S.FieldStart;
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private skipLF = false;
  /** Field count of the first record (the header). */
  private width = NOT_SET;
  /**
   * Raw text after the first newline inside a quoted field of the current
   * record (from earlier chunks; `spanFrom` marks where it continues in the
   * current one), so reading can resume there if the quote turns out unclosed.
   */
  private span: string | null = null;
  private spanFrom = 0;
  private spanLine = 0;

  constructor(
    private readonly maxField: number,
    private readonly maxQuotedSpan: number,
  ) {}

  /** Ends the current record; returns text to read again when its quote was unclosed, else null. */
  private endRecord(out: CsvRecord[], text: string): string | null {
    this.fields.push(this.field.length > this.maxField ? this.field.slice(0, this.maxField + 1) : this.field);
    this.field = '';
    const fields = this.fields;
    this.fields = [];
    this.state = S.FieldStart;
    if (this.span !== null && this.width !== NOT_SET && fields.length !== this.width) return this.unclosed(out, text);
    this.span = null;
    if (!(fields.length === 1 && fields[0] === '')) {
      out.push({ line: this.recordLine, fields });
      if (this.width === NOT_SET) this.width = fields.length;
    }
    return null;
  }

  /** Reports the record's quote as unclosed; returns the text after the quote's first newline, to read again. */
  private unclosed(out: CsvRecord[], text: string): string {
    out.push({ line: this.recordLine, fields: [], problem: 'unclosed_quote' });
    let again = '';
    if (this.span !== null) {
      again = this.span + text.slice(this.spanFrom);
      this.line = this.spanLine;
      this.recordLine = this.spanLine;
    }
    this.state = S.FieldStart;
    this.field = '';
    this.fields = [];
    this.span = null;
    this.skipLF = false;
    return again;
  }

  push(chunk: string, out: CsvRecord[]): void {
    let text: string | null = chunk;
    while (text !== null) text = this.scan(text, out);
  }

  /** Reads `text` to its end; returns text to read again after an unclosed quote, else null. */
  private scan(text: string, out: CsvRecord[]): string | null {
    // The hot loop works on locals; they are written back before any call that reads them.
    let state = this.state;
    let field = this.field;
    let skipLF = this.skipLF;
    let start = 0; // start of the pending slice for Unquoted/Quoted states
    const max = this.maxField;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (skipLF) {
        skipLF = false;
        if (ch === 10) {
          start = i + 1;
          continue;
        }
      }
      switch (state) {
        // biome-ignore lint/suspicious/noFallthroughSwitchClause: a field that does not open with a quote is unquoted from this character on
        case S.FieldStart:
          if (ch === 34) {
            state = S.Quoted;
            start = i + 1;
            break;
          }
          state = S.Unquoted;
          start = i;
        // an unquoted field starts with this very character: falls through
        case S.Unquoted:
          if (ch === 44) {
            field += text.slice(start, i);
            this.fields.push(field.length > max ? field.slice(0, max + 1) : field);
            field = '';
            state = S.FieldStart;
          } else if (ch === 10 || ch === 13) {
            this.field = field + text.slice(start, i);
            const again = this.endRecord(out, text);
            if (again !== null) return again;
            state = S.FieldStart;
            field = '';
            this.line++;
            this.recordLine = this.line;
            skipLF = ch === 13;
          }
          break;
        case S.Quoted:
          if (ch === 34) {
            field += text.slice(start, i);
            state = S.QuoteInQuoted;
          } else if (ch === 10) {
            this.line++;
            if (this.span === null) {
              this.span = '';
              this.spanFrom = i + 1;
              this.spanLine = this.line;
            } else if (this.span.length + (i - this.spanFrom) > this.maxQuotedSpan) {
              this.skipLF = false;
              return this.unclosed(out, text);
            }
          }
          break;
        case S.QuoteInQuoted:
          if (ch === 34) {
            field += '"';
            state = S.Quoted;
            start = i + 1;
          } else if (ch === 44) {
            this.fields.push(field.length > max ? field.slice(0, max + 1) : field);
            field = '';
            state = S.FieldStart;
          } else if (ch === 10 || ch === 13) {
            this.field = field;
            const again = this.endRecord(out, text);
            if (again !== null) return again;
            state = S.FieldStart;
            field = '';
            this.line++;
            this.recordLine = this.line;
            skipLF = ch === 13;
          } else {
            // Text after a closing quote (`"a"b`): keep it, as most readers do.
            state = S.Unquoted;
            start = i;
          }
          break;
      }
    }
    if (state === S.Unquoted || state === S.Quoted) field += text.slice(start);
    this.state = state;
    this.field = field.length > max ? field.slice(0, max + 1) : field;
    this.skipLF = skipLF;
    if (this.span !== null) {
      if (state === S.Quoted && this.span.length + (text.length - this.spanFrom) > this.maxQuotedSpan) return this.unclosed(out, text);
      this.span += text.slice(this.spanFrom);
      this.spanFrom = 0;
    }
    return null;
  }

  end(out: CsvRecord[]): void {
    for (;;) {
      let again: string | null = null;
      if (this.state === S.Quoted) again = this.unclosed(out, '');
      else if (this.state !== S.FieldStart || this.fields.length > 0 || this.field !== '') again = this.endRecord(out, '');
      if (again === null || again === '') return;
      this.push(again, out);
    }
  }
}

/** Records in batches, one per input chunk: a bulk reader processes each batch without an await per row. */
export async function* readCsvBatches(chunks: AsyncIterable<string | Buffer>, opts: CsvOptions = {}): AsyncGenerator<CsvRecord[]> {
  const parser = new CsvParser(opts.maxField ?? 10_000, opts.maxQuotedSpan ?? 65_536);
  const decoder = new TextDecoder('utf-8');
  let first = true;
  for await (const raw of chunks) {
    let chunk = typeof raw === 'string' ? raw : decoder.decode(raw, { stream: true });
    if (first && chunk.length > 0) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    const out: CsvRecord[] = [];
    parser.push(chunk, out);
    if (out.length) yield out;
  }
  const out: CsvRecord[] = [];
  const tail = decoder.decode();
  if (tail) parser.push(tail, out);
  parser.end(out);
  if (out.length) yield out;
}

export async function* readCsv(chunks: AsyncIterable<string | Buffer>, opts: CsvOptions = {}): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(chunks, opts)) yield* batch;
}

/** Map a header row to column indexes; report missing required columns. */
export function headerIndex(
  header: string[],
  columns: readonly string[],
  required: readonly string[],
): { index: Record<string, number>; missing: string[]; unknown: string[] } {
  const normalized = header.map((h) => h.trim().toLowerCase());
  const index: Record<string, number> = {};
  for (const c of columns) {
    const at = normalized.indexOf(c);
    if (at >= 0) index[c] = at;
  }
  return {
    index,
    missing: required.filter((c) => index[c] === undefined),
    unknown: normalized.filter((h) => h !== '' && !columns.includes(h)),
  };
}
