import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Pure files (scoring math, rules, Block Kit builders, parsers) take values and
 * return values: no database, no Slack client, no queue, no clock read.
 */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const pure = files('src').filter((f) => /\.(rules|blocks)\.ts$|\/scoring\/|command\.parser\.ts$|\/demo\/generate\.ts$/.test(f));
const FORBIDDEN = [/from ['"]kysely['"]/, /from ['"]pg['"]/, /from ['"]bullmq['"]/, /from ['"]ioredis['"]/, /from ['"]@slack\//, /platform\/db\.js/, /platform\/context\.js/, /\.repository\.js/, /\.service\.js/, /process\.env/, /Date\.now\(\)/, /new Date\(\)/];

describe('pure modules', () => {
  it('exist', () => expect(pure.length).toBeGreaterThan(5));
  it.each(pure)('%s has no I/O and reads no clock', (file) => {
    // Type-only imports carry no code at run time.
    const text = readFileSync(file, 'utf8').replace(/^import type [^;]+;$/gm, '');
    for (const pattern of FORBIDDEN) expect(text, `${file} matches ${pattern}`).not.toMatch(pattern);
  });
});
