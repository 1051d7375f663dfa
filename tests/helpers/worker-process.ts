import { spawn, type ChildProcess } from 'node:child_process';
import { BOT_TOKEN, SIGNING_SECRET, type TestApp } from './app.js';
import { REDIS_URL } from './db.js';

/**
 * Starts tests/helpers/worker-child.ts as a real worker process on the test
 * app's database, Redis prefix and Slack double, and resolves once its
 * workers run — so a test can SIGKILL or SIGTERM it mid-work. The child is
 * added to `children` for the test's cleanup.
 */
export function startWorkerProcess(app: TestApp, children: ChildProcess[], env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx/esm', 'tests/helpers/worker-child.ts'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      DATABASE_URL: app.db.url,
      REDIS_URL,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: app.slack.url,
      RETAIN_QUEUE_PREFIX: app.prefix,
      LOG_LEVEL: 'silent',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}
