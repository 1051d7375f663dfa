/**
 * A real worker process for crash tests: `node --import tsx/esm tests/helpers/worker-child.ts`
 * with DATABASE_URL, REDIS_URL, SLACK_* and RETAIN_QUEUE_PREFIX in its environment.
 * Prints "ready" once its workers run; a test may then SIGKILL it mid-delivery.
 */
import { loadConfig } from '../../src/config/index.js';
import { start } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';

const running = await start({ roles: ['worker'], config: loadConfig(), logger: silentLogger, migrate: false, schedules: false, handleSignals: true });
await Promise.all(running.workers.map((w) => w.waitUntilReady()));
process.stdout.write('ready\n');
