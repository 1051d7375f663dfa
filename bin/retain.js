#!/usr/bin/env node
// The `retain` command: runs the compiled CLI in dist/ (`npm run build`, which
// `npm install` runs). Compiled JavaScript starts in a fraction of the time the
// TypeScript took through tsx, which matters for `retain slash` and `--help`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  process.stderr.write(`retain: the compiled CLI (dist/) is missing; build it with \`npm run build\` in ${root}\n`);
  process.exit(1);
}

// Verbs that run for long or over the whole book get a bounded heap unless the
// operator chose one: V8 otherwise grows the old space lazily far past the live
// data (a full rescore's worker peaked at ~340 MB RSS with ~115 MB live, and an
// uncapped `retain rescore` of 1,000,000 customers at 504 MB; 256 MB caps both).
// The young generation is pinned to Node 20's 16 MB semi-spaces: Node 24 picks
// 64 MB here whatever the old-space cap, which adds ~150 MB past it.
const BOUNDED = new Set(['start', 'web', 'worker', 'rescore', 'import', 'fit', 'backtest', 'demo']);
const args = process.argv.slice(2);
const verb = args.find((a) => !a.startsWith('-'));
const heapChosen = /--max-old-space-size/.test(`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`);
const wantsHelp = args.includes('--help') || args.includes('-h');

if (verb !== undefined && BOUNDED.has(verb) && !heapChosen && !wantsHelp) {
  const heapMb = process.env.RETAIN_HEAP_MB ?? '256';
  const heapFlags = [`--max-old-space-size=${heapMb}`, '--max-semi-space-size=16'];
  const child = spawn(process.execPath, [...heapFlags, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  // Node 22+ keeps compiled code between runs (Node 20 has no such API).
  module.enableCompileCache?.();
  await import(cli.href);
}
