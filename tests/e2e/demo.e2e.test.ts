import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { runDemo } from '../../src/demo/demo.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';

/** `retain demo` on a brand-new database shows what the first scoring posted; a second run says nothing is new. */
let db: TestDb;
const prefix = queuePrefix('demo');

beforeAll(async () => {
  db = await createTestDb('demo');
});
afterAll(async () => {
  await cleanQueuePrefix(`${prefix}-demo`);
  await db?.drop();
});

async function demo(): Promise<string> {
  const out: string[] = [];
  const config = loadConfig({ DATABASE_URL: db.url, REDIS_URL, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
  const code = await runDemo(config, { out: (l) => out.push(l), err: (l) => out.push(l) }, { lookups: ['/customer mine'] });
  expect(code).toBe(0);
  return out.join('\n');
}

describe('retain demo', () => {
  it('shows the warnings and reminders the first scoring produced, with a count, then nothing new on a re-run', async () => {
    const first = await demo();
    expect(first).toMatch(/3\. What retain posted to Slack \(printed here, console mode\): .*\d+ churn warnings?/);
    expect(first).toMatch(/\d+ renewal reminders?/);
    expect(first).toContain('Churn warning:');
    expect(first).not.toContain('Nothing new to post');

    const second = await demo();
    expect(second).toContain('3. Nothing new to post');
    expect(second).toMatch(/run \d+ done: 500 customers scored/);
  }, 120_000);
});
