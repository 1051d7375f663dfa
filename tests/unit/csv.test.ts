import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerIndex, readCsv } from '../../src/ingest/csv.js';

async function parse(chunks: string[]) {
  const out = [];
  async function* gen() {
    for (const c of chunks) yield c;
  }
  for await (const r of readCsv(gen())) out.push(r);
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

describe('headerIndex', () => {
  it('maps columns by name in any order and reports missing ones', () => {
    const h = headerIndex(['Name', 'external_id', 'extra'], ['external_id', 'name', 'domain'], ['external_id', 'name']);
    expect(h.index).toEqual({ external_id: 1, name: 0 });
    expect(h.missing).toEqual([]);
    expect(h.unknown).toEqual(['extra']);
    expect(headerIndex(['name'], ['external_id', 'name'], ['external_id', 'name']).missing).toEqual(['external_id']);
  });
});
