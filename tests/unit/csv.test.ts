import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerIndex, readCsv, type CsvOptions, type CsvRecord } from '../../src/ingest/csv.js';

async function parse(chunks: string[], opts?: CsvOptions) {
  const out: CsvRecord[] = [];
  async function* gen() {
    for (const c of chunks) yield c;
  }
  for await (const r of readCsv(gen(), opts)) out.push(r);
  return out;
}

describe('readCsv', () => {
  it('handles quotes, doubled quotes, CRLF, blank lines, a BOM and embedded newlines, with line numbers', async () => {
    const text = '\ufeffa,b,c\r\n1,"x, ""y""\nz",3\n\n4,,"6"\r\n"7"';
    const expected = [
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, "y"\nz', '3'] },
      { line: 5, fields: ['4', '', '6'] },
      { line: 6, fields: ['7'] },
    ];
    expect(await parse([text])).toEqual(expected);
  });

  it('gives the same records however the input is split into chunks', async () => {
    const text = 'id,name\n1,"Acme, ""Inc"""\r\n2,Globex\n3,"multi\nline"\n';
    const whole = await parse([text]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 5 }), async (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(text.slice(prev, p));
          prev = p;
        }
        chunks.push(text.slice(prev));
        expect(await parse(chunks)).toEqual(whole);
      }),
    );
  });

  it('round-trips any table of strings written with RFC 4180 quoting', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 6 }), async (rows) => {
        const text = rows.map((r) => r.map((f) => `"${f.replace(/"/g, '""')}"`).join(',')).join('\r\n');
        const parsed = (await parse([text])).map((r) => r.fields);
        expect(parsed).toEqual(rows);
      }),
    );
  });
});

describe('readCsv guards', () => {
  it('reports a quote never closed before the end of the file on the line it opened', async () => {
    expect(await parse(['id,name\n1,Acme\n2,"Globex\n'])).toEqual([
      { line: 1, fields: ['id', 'name'] },
      { line: 2, fields: ['1', 'Acme'] },
      { line: 3, fields: [], problem: 'unclosed_quote' },
    ]);
  });

  it('reads the lines after an unclosed quote as rows of their own, with their own line numbers', async () => {
    const text = 'id,name,domain\n1,"Acme,acme.com\n2,Globex,globex.com\n3,"Initech, Inc",initech.com\n4,Hooli,hooli.com\n';
    expect(await parse([text])).toEqual([
      { line: 1, fields: ['id', 'name', 'domain'] },
      { line: 2, fields: [], problem: 'unclosed_quote' },
      { line: 3, fields: ['2', 'Globex', 'globex.com'] },
      { line: 4, fields: ['3', 'Initech, Inc', 'initech.com'] },
      { line: 5, fields: ['4', 'Hooli', 'hooli.com'] },
    ]);
  });

  it('keeps a legitimate multi-line quoted cell', async () => {
    expect(await parse(['id,note\n1,"two\nlines"\n2,x\n'])).toEqual([
      { line: 1, fields: ['id', 'note'] },
      { line: 2, fields: ['1', 'two\nlines'] },
      { line: 4, fields: ['2', 'x'] },
    ]);
  });

  it('gives up on a quoted cell that runs on past the span limit and resumes after its first line', async () => {
    const filler = Array.from({ length: 50 }, (_, i) => `${i + 10},row ${i}`).join('\n');
    const records = await parse([`id,name\n1,"open\n${filler}\n`], { maxQuotedSpan: 200 });
    expect(records[1]).toEqual({ line: 2, fields: [], problem: 'unclosed_quote' });
    expect(records.slice(2).map((r) => r.fields[0])).toEqual(Array.from({ length: 50 }, (_, i) => String(i + 10)));
    expect(records.at(-1)!.line).toBe(52);
  });

  it('keeps at most maxField + 1 characters of a cell, however it is split into chunks', async () => {
    const big = 'p'.repeat(100_000);
    const records = await parse(['id,plan\n1,', big.slice(0, 40_000), big.slice(40_000), '\n2,"', big, '"\n'], { maxField: 100 });
    expect(records.map((r) => [r.line, r.fields[1]!.length])).toEqual([
      [1, 4],
      [2, 101],
      [3, 101],
    ]);
  });

  it('never throws and always moves forward, whatever the input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', 'x') }), async (text) => {
        const records = await parse([text], { maxQuotedSpan: 8 });
        for (let k = 1; k < records.length; k++) expect(records[k]!.line).toBeGreaterThan(records[k - 1]!.line);
      }),
    );
  });
});

describe('headerIndex', () => {
  it('maps columns by name in any order and reports missing ones', () => {
    const h = headerIndex(['Name', 'external_id', 'extra'], ['external_id', 'name', 'domain'], ['external_id', 'name']);
    expect(h.index).toEqual({ external_id: 1, name: 0 });
    expect(h.missing).toEqual([]);
    expect(h.unknown).toEqual(['extra']);
    expect(headerIndex(['name'], ['external_id', 'name'], ['external_id', 'name']).missing).toEqual(['external_id']);
  });
});
