/**
 * Streaming RFC 4180 CSV reader: quoted fields, doubled quotes, CRLF or LF,
 * newlines inside quotes, a UTF-8 BOM, records split across chunks. Yields each
 * record with the line number it starts on, so a bad row can be reported by line.
 */
export interface CsvRecord {
  line: number;
  fields: string[];
}

enum S {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

export async function* readCsv(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<CsvRecord> {
  let state = S.FieldStart;
  let field = '';
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let first = true;
  let skipLF = false;
  const decoder = new TextDecoder('utf-8');

  const endRecord = (): CsvRecord | null => {
    fields.push(field);
    field = '';
    const rec = fields.length === 1 && fields[0] === '' ? null : { line: recordLine, fields };
    fields = [];
    state = S.FieldStart;
    return rec;
  };

  for await (const raw of chunks) {
    let chunk = typeof raw === 'string' ? raw : decoder.decode(raw, { stream: true });
    if (first && chunk.length > 0) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    let start = 0; // start of the pending slice for Unquoted/Quoted states
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
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
            fields.push(field + chunk.slice(start, i));
            field = '';
            state = S.FieldStart;
          } else if (ch === 10 || ch === 13) {
            field += chunk.slice(start, i);
            const rec = endRecord();
            if (rec) yield rec;
            line++;
            recordLine = line;
            if (ch === 13) skipLF = true;
          }
          break;
        case S.Quoted:
          if (ch === 34) {
            field += chunk.slice(start, i);
            state = S.QuoteInQuoted;
          } else if (ch === 10) line++;
          break;
        case S.QuoteInQuoted:
          if (ch === 34) {
            field += '"';
            state = S.Quoted;
            start = i + 1;
          } else if (ch === 44) {
            fields.push(field);
            field = '';
            state = S.FieldStart;
          } else if (ch === 10 || ch === 13) {
            const rec = endRecord();
            if (rec) yield rec;
            line++;
            recordLine = line;
            if (ch === 13) skipLF = true;
          } else {
            // Text after a closing quote (`"a"b`): keep it, as most readers do.
            state = S.Unquoted;
            start = i;
          }
          break;
      }
    }
    if (state === S.Unquoted || state === S.Quoted) field += chunk.slice(start);
  }
  if (state !== S.FieldStart || fields.length > 0 || field !== '') {
    const rec = endRecord();
    if (rec) yield rec;
  }
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
