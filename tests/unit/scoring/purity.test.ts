import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = path.resolve(process.cwd(), 'src/scoring');
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

/** Source without comments, so documentation may mention what code may not do. */
const code = (file: string): string =>
  readFileSync(path.join(DIR, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

describe('src/scoring stays pure', () => {
  it.each(files)('%s imports only sibling scoring modules', (file) => {
    const specifiers = [...code(file).matchAll(/\b(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    for (const s of specifiers) {
      expect(s, `${file} imports ${s}`).toMatch(/^\.\/[a-z0-9-]+\.js$/);
    }
    expect(code(file)).not.toMatch(/\bimport\s*\(/);
    expect(code(file)).not.toMatch(/\brequire\s*\(/);
  });

  it.each(files)('%s reads no clock, environment or randomness', (file) => {
    const src = code(file);
    expect(src).not.toMatch(/Date\.now\s*\(/);
    expect(src).not.toMatch(/new Date\(\s*\)/);
    expect(src).not.toMatch(/\bprocess\./);
    expect(src).not.toMatch(/Math\.random/);
    expect(src).not.toMatch(/performance\.now/);
  });
});
