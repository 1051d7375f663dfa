import { DelayedError, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverBatch } from '../../src/alerts/delivery.job.js';
import { claimNotifications } from '../../src/alerts/outbox.repository.js';
import { loadConfig } from '../../src/config/index.js';
import { buildContext, type Built } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import { BOT_TOKEN, SIGNING_SECRET } from '../helpers/app.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL, type TestDb } from '../helpers/db.js';
import { startSlackDouble, type SlackDouble } from '../helpers/slack-double.js';

/**
 * Two executions of the same delivery job at once — what BullMQ does when a
 * job's lock lapses (a Redis restart) while the first execution still runs.
 * Each message must reach Slack once: the second execution may not take a
 * row the first holds, and neither may post what the other already did.
 */
let db: TestDb;
let slack: SlackDouble;
let built: Built;
let prefix: string;

beforeAll(async () => {
  db = await createTestDb('executions');
  slack = await startSlackDouble();
  prefix = queuePrefix('executions');
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    RETAIN_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
  });
  built = buildContext({ config, logger: silentLogger });
});
afterAll(async () => {
  await built?.close();
  await slack?.close();
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

/** A stand-in for BullMQ's job: hand-backs are recorded instead of moving the job. */
function fakeJob(id: string) {
  const job = {
    id,
    data: undefined as unknown,
    handedBack: [] as { deliveries: { channel: string; ids: string[] }[] }[],
    async updateData(d: unknown) {
      job.data = d;
    },
    async moveToDelayed() {
      job.handedBack.push(job.data as never);
    },
  };
  return job;
}

describe('one delivery job run twice at once', () => {
  it.each([1, 2, 3])(
    'round %i: every message posted exactly once',
    async (round) => {
      slack.reset();
      slack.rateLimitMs = 300;
      slack.postLatencyMs = 150; // Slack has the message before the poster hears back: the window for a double post
      const jobId = `deliver-round-${round}`;
      const channels = ['C0TWINA', 'C0TWINB'];
      const keys = Array.from({ length: 10 }, (_, i) => `twin-${round}-${i}`);
      const rows = await claimNotifications(
        db.db,
        keys.map((k, i) => ({ dedupeKey: k, kind: 'test', channel: channels[i % 2]!, text: k, deliveryJob: jobId })),
      );
      let data = { deliveries: channels.map((c) => ({ channel: c, ids: rows.filter((r) => r.channel_id === c).map((r) => r.id) })) };
      const ctx = built.ctx;
      for (let pass = 0; pass < 40 && data.deliveries.length > 0; pass++) {
        // Two executions of the same job, from the same data, side by side.
        const a = fakeJob(jobId);
        const b = fakeJob(jobId);
        const results = await Promise.allSettled([
          deliverBatch(ctx, data, a as unknown as Job, 'tok-a'),
          deliverBatch(ctx, data, b as unknown as Job, 'tok-b'),
        ]);
        for (const r of results) if (r.status === 'rejected' && !(r.reason instanceof DelayedError)) throw r.reason;
        // What is left is whatever either handed back (rows already sent are skipped next time).
        const left = new Map<string, Set<string>>();
        for (const h of [...a.handedBack, ...b.handedBack])
          for (const d of h.deliveries) for (const id of d.ids) left.set(d.channel, (left.get(d.channel) ?? new Set()).add(id));
        data = { deliveries: [...left].map(([channel, ids]) => ({ channel, ids: [...ids].sort((x, y) => Number(x) - Number(y)) })) };
        if (data.deliveries.length) await new Promise((r) => setTimeout(r, 300));
      }
      const posted = slack.posted.map((p) => String(p.metadata?.event_payload.key)).filter((k) => k.startsWith(`twin-${round}-`));
      expect([...posted].sort()).toEqual([...keys].sort());
      const stored = await db.db.selectFrom('notifications').select(['status', 'attempts']).where('dedupe_key', 'like', `twin-${round}-%`).execute();
      expect(stored.every((r) => r.status === 'sent')).toBe(true);
    },
    60_000,
  );
});
