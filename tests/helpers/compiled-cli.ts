import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const LOCK = join(ROOT, 'node_modules', '.cache', 'retain-build.lock');
/** A lock older than this was left by a killed run. */
const STALE_LOCK_MS = 5 * 60_000;

/**
 * Compile src/ to dist/ as `npm run build` does, so tests that run the `retain`
 * binary run today's code. `tsc -b` does nothing when dist/ is up to date; a
 * lock keeps test files running in parallel from compiling over each other.
 */
export async function buildCompiledCli(): Promise<void> {
  mkdirSync(dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        /* released meanwhile */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await run(process.execPath, [TSC, '-b', 'tsconfig.build.json'], { cwd: ROOT, timeout: 110_000 });
  } catch (e) {
    const err = e as { stdout?: string; message: string };
    throw new Error(`npm run build failed: ${err.stdout?.trim() || err.message}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
