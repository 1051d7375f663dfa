import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Pure modules take values and return values: scoring math, rules, Block Kit
 * builders, parsers (the slash-command parser, the CSV reader) and the demo
 * book generator. No database, no Slack client, no queue, no file or network,
 * no environment, no clock read (`now` is passed in), no randomness — so they
 * are tested with plain values and behave the same in every role.
 */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const isPure = (file: string) =>
  /\.(rules|blocks|parser)\.ts$/.test(file) || file.startsWith('src/scoring/') || file === 'src/ingest/csv.ts' || file === 'src/demo/generate.ts';
const pure = sourceFiles('src').filter(isPure).sort();

/** Source without comments, so documentation may name what code may not do. */
const code = (file: string): string =>
  readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');

/** Specifiers of every import and re-export, type-only or not. */
const allSpecifiers = (src: string): string[] =>
  [...src.matchAll(/\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]/g)].map((m) => (m[1] ?? m[2])!);

/** Specifiers that load code at run time: `import type` and `export type … from` are erased. */
const runtimeSpecifiers = (src: string): string[] => allSpecifiers(src.replace(/\b(?:import|export)\s+type\b[^;]+;/g, ''));

/** Packages and Node modules that do I/O. */
const IO_MODULE =
  /^(kysely|pg|pg-copy-streams|bullmq|ioredis|pino|@slack\/.+|(node:)?(fs|fs\/promises|net|http|https|http2|tls|dgram|dns|child_process|worker_threads|cluster))$/;
/** The app's own I/O edges: connections, logging, config (reads the environment), queries, orchestration, Slack handlers. */
const APP_EDGE =
  /\/platform\/(db|database|context|redis|logger|http|health|metrics|metrics-route|migrate|shutdown)\.js$|\/config\/|\/jobs\/|\.(repository|service|job|listeners|listener|action|command|routes)\.js$/;

const FORBIDDEN_CODE: [RegExp, string][] = [
  [/\bimport\s*\(|\brequire\s*\(/, 'loads a module at run time'],
  [/\bprocess\./, 'reads the process (environment, argv, time)'],
  [/Date\.now\s*\(|new Date\(\s*\)|performance\.now|systemClock/, 'reads the clock (take `now` as an argument)'],
  [/Math\.random|crypto\.random|randomUUID/, 'draws randomness (take a seed or an rng)'],
  [/\bfetch\s*\(|\bconsole\./, 'does I/O'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'schedules work'],
];

function importProblems(file: string): string[] {
  return runtimeSpecifiers(code(file)).flatMap((s) => (IO_MODULE.test(s) || APP_EDGE.test(s) ? [`${file} imports ${s}`] : []));
}

/** Every module a pure module loads at run time, directly or through others (relative imports only). */
function reachableFromPure(): Map<string, string> {
  const via = new Map<string, string>();
  const queue = [...pure];
  while (queue.length) {
    const file = queue.pop()!;
    for (const s of runtimeSpecifiers(code(file))) {
      if (!s.startsWith('.')) continue;
      const target = relative(process.cwd(), resolve(dirname(file), s.replace(/\.js$/, '.ts')));
      expect(existsSync(target), `${file} imports ${s}, which is not a file`).toBe(true);
      if (!isPure(target) && !via.has(target)) {
        via.set(target, file);
        queue.push(target);
      }
    }
  }
  return via;
}

describe('pure modules', () => {
  it('are found: scoring, rules, blocks, the command parser and the CSV reader', () => {
    for (const kind of [/^src\/scoring\//, /\.rules\.ts$/, /\.blocks\.ts$/, /\.parser\.ts$/, /^src\/ingest\/csv\.ts$/]) {
      expect(
        pure.some((f) => kind.test(f)),
        `no pure module matches ${kind}`,
      ).toBe(true);
    }
  });

  it.each(pure)('%s imports nothing that does I/O', (file) => {
    expect(importProblems(file)).toEqual([]);
  });

  it.each(pure)('%s reads no clock, environment or randomness, and does no I/O', (file) => {
    const src = code(file);
    for (const [pattern, why] of FORBIDDEN_CODE) expect(src, `${file} ${why}`).not.toMatch(pattern);
  });

  it.each(pure.filter((f) => f.startsWith('src/scoring/')))('%s imports only sibling scoring modules', (file) => {
    for (const s of allSpecifiers(code(file))) expect(s, `${file} imports ${s}`).toMatch(/^\.\/[a-z0-9-]+\.js$/);
  });

  // Helpers a pure module loads (formatting, escaping, ids, date arithmetic)
  // must not bring I/O in with them. They are held to the import rule only:
  // platform/clock.ts, say, both does date arithmetic and defines the system
  // clock, and defining a clock is not reading it.
  it('the helpers pure modules load import nothing that does I/O either', () => {
    const reachable = reachableFromPure();
    expect(reachable.size).toBeGreaterThan(0);
    const problems = [...reachable].flatMap(([file, from]) => importProblems(file).map((p) => `${p} (loaded by ${from})`));
    expect(problems).toEqual([]);
  });
});
