#!/usr/bin/env node
// The `retain` command: runs the TypeScript CLI through tsx (a runtime dependency).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Long-running roles and bulk imports get a bounded heap unless the operator
// chose one: V8 otherwise grows the old space lazily far past the live data (a
// full rescore's worker peaked at ~340 MB RSS with ~115 MB live; a million-row
// import, which holds one chunk at a time, at ~310 MB of mostly garbage).
const LONG_RUNNING = new Set(['start', 'worker', 'web', 'import']);
const role = process.argv[2];
const heapChosen = /--max-old-space-size/.test(`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`);

if (LONG_RUNNING.has(role) && !heapChosen && !process.argv.includes('--help') && !process.argv.includes('-h')) {
  const heapMb = process.env.RETAIN_HEAP_MB ?? '256';
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
