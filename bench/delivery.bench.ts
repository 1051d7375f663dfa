/**
 * Delivery benchmark: 10,000 notifications across 1,000 channels through the
 * real outbox (claim → paced job → post), delivered by a real worker process
 * against the Slack API double enforcing one message per second per channel
 * (429 + Retry-After otherwise). Loopback only; bounded by a timeout.
 *
 *   npx tsx bench/delivery.bench.ts [--messages 10000] [--channels 1000] [--concurrency 64] [--workers 1] [--calls 1] [--global 20000]
 *
 * Prints total time vs the theoretical minimum (each channel's 10 messages
 * need 9 s: the first at 0, the tenth at 9), 429s received, per-channel gaps
 * as Slack saw them, and the worker's resident memory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueueNotifications } from '../src/alerts/outbox.service.js';
import { parseArgs } from '../src/cli/args.js';
import { loadConfig } from '../src/config/index.js';
import { buildContext } from '../src/main.js';
import { silentLogger } from '../src/platform/logger.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_URL } from '../tests/helpers/db.js';
import { startSlackDouble } from '../tests/helpers/slack-double.js';

const args = parseArgs(process.argv.slice(2));
const MESSAGES = Number(args.flags.messages ?? 10_000);
const CHANNELS = Number(args.flags.channels ?? 1_000);
const CONCURRENCY = Number(args.flags.concurrency ?? 64);
/** Producer calls the burst arrives in (each call's share of a channel is its own job): >1 makes jobs share channels. */
const CALLS = Number(args.flags.calls ?? 1);
/** Worker processes (workers scale out; pacing is shared in Redis). */
const WORKERS = Number(args.flags.workers ?? 1);
/** The workspace-wide cap (pacing.globalPerSecond); retain's default is 40. */
const GLOBAL = Number(args.flags.global ?? 20_000);
const PER_CHANNEL_MS = 1_000;
const TIMEOUT_MS = 120_000;

function rssOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}
/** CPU seconds used by a process so far (user + system). */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

async function main() {
  const slack = await startSlackDouble();
  slack.rateLimitMs = PER_CHANNEL_MS;
  const db = await createTestDb('bench_delivery');
  const prefix = queuePrefix('benchdelivery');
  const dir = mkdtempSync(join(tmpdir(), 'retain-bench-'));
  const configPath = join(dir, 'config.json');
  // A high global cap (the double has none) and enough deliveries in flight.
  writeFileSync(configPath, JSON.stringify({ pacing: { perChannelMs: PER_CHANNEL_MS, globalPerSecond: GLOBAL, deliveryConcurrency: CONCURRENCY } }));
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: 'bench-signing-secret',
    SLACK_API_URL: slack.url,
    RETAIN_QUEUE_PREFIX: prefix,
    RETAIN_CONFIG: configPath,
    LOG_LEVEL: 'silent',
  };

  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const worker = spawn(process.execPath, [...nodeArgs, '--import', 'tsx/esm', 'tests/helpers/worker-child.ts'], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('worker did not start')), 30_000);
        worker.stdout!.on('data', (d) => {
          if (!String(d).includes('ready')) return;
          clearTimeout(t);
          resolve();
        });
        worker.on('exit', (code) => reject(new Error(`worker exited ${code}`)));
      });
      return worker;
    }),
  );
  const rssAll = () => workers.map((w) => rssOf(w.pid!)).reduce((a, b) => ({ rss: a.rss + b.rss, hwm: a.hwm + b.hwm }), { rss: 0, hwm: 0 });
  const idle = rssAll();

  const built = buildContext({ config: loadConfig(env), logger: silentLogger });
  const list = Array.from({ length: MESSAGES }, (_, i) => ({
    dedupeKey: `bench-${i}`,
    kind: 'bench',
    channel: `C${String(i % CHANNELS).padStart(6, '0')}`,
    text: `bench message ${i}`,
  }));
  const perChannel = Math.ceil(MESSAGES / CHANNELS);
  // Each channel's messages a second apart, and no more than GLOBAL a second in all.
  const theoreticalMs = Math.max((perChannel - 1) * PER_CHANNEL_MS, (MESSAGES / GLOBAL) * 1000);

  let peakRss = idle.rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssAll().rss)), 200);
  const cpuWorkers0 = workers.reduce((a, w) => a + cpuOf(w.pid!), 0);
  const cpuSelf0 = process.cpuUsage();
  const t0 = Date.now();
  const per = Math.ceil(list.length / CALLS);
  for (let i = 0; i < list.length; i += per) await enqueueNotifications(built.ctx, list.slice(i, i + per));
  const enqueuedMs = Date.now() - t0;
  const deadline = t0 + TIMEOUT_MS;
  while (slack.posted.length < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const totalMs = Date.now() - t0;
  clearInterval(sampler);
  const final = rssAll();
  const cpuWorkers = workers.reduce((a, w) => a + cpuOf(w.pid!), 0) - cpuWorkers0;
  const selfUsage = process.cpuUsage(cpuSelf0);
  const cpuSelf = (selfUsage.user + selfUsage.system) / 1e6;

  // What Slack saw: every message once, and the gaps within each channel.
  const keys = new Set(slack.posted.map((p) => String(p.metadata?.event_payload.key)));
  const byChannel = new Map<string, number[]>();
  for (const p of slack.posted) byChannel.set(p.channel, [...(byChannel.get(p.channel) ?? []), p.at]);
  let minGap = Infinity;
  let sumGap = 0;
  let gaps = 0;
  for (const times of byChannel.values()) {
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) {
      const g = times[i]! - times[i - 1]!;
      minGap = Math.min(minGap, g);
      sumGap += g;
      gaps++;
    }
  }
  const firstPost = Math.min(...slack.posted.map((p) => p.at));
  // When each channel got its first message: how long the burst took to get every channel going.
  const starts = [...byChannel.values()].map((times) => times[0]! - firstPost).sort((a, b) => a - b);
  const startAt = (q: number) => starts[Math.min(starts.length - 1, Math.floor(q * starts.length))]!;
  const lastPost = Math.max(...slack.posted.map((p) => p.at));
  const rows = await db.db.selectFrom('notifications').select(['status']).execute();
  const sent = rows.filter((r) => r.status === 'sent').length;

  const lines = [
    `delivery benchmark — ${MESSAGES} notifications, ${CHANNELS} channels, Slack double at 1 msg/s/channel, ${WORKERS} worker process${WORKERS === 1 ? '' : 'es'} × delivery concurrency ${CONCURRENCY}${CALLS > 1 ? `, enqueued in ${CALLS} calls` : ''}`,
    `  delivered (Slack saw)      ${slack.posted.length} posts, ${keys.size} distinct keys${slack.posted.length === keys.size ? '' : '  ← DUPLICATES'}; ${sent} rows marked sent`,
    `  total time                 ${(totalMs / 1000).toFixed(2)} s from first claim to last post (claiming + enqueueing took ${(enqueuedMs / 1000).toFixed(2)} s)`,
    `  first → last post          ${((lastPost - firstPost) / 1000).toFixed(2)} s`,
    `  theoretical minimum        ${(theoreticalMs / 1000).toFixed(2)} s (${perChannel} per channel, 1 s apart; at most ${GLOBAL} a second)`,
    `  ratio                      ${(totalMs / theoreticalMs).toFixed(3)}× (target ≤ 1.2×)`,
    `  429s received              ${slack.rateLimited} (target 0)`,
    `  per-channel gap at Slack   min ${minGap} ms, mean ${(sumGap / Math.max(1, gaps)).toFixed(0)} ms`,
    `  channel first post         p50 ${startAt(0.5)} ms, p90 ${startAt(0.9)} ms, last ${starts[starts.length - 1]} ms after the first post`,
    `  throughput                 ${(MESSAGES / (totalMs / 1000)).toFixed(0)} msg/s`,
    `  CPU                        worker ${cpuWorkers.toFixed(1)} s (${((cpuWorkers / MESSAGES) * 1e6).toFixed(0)} µs/message); producer + Slack double ${cpuSelf.toFixed(1)} s; machine load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    `  worker RSS${WORKERS === 1 ? '' : ' (sum)'}${WORKERS === 1 ? '           ' : '     '}     idle ${mb(idle.rss)}, peak sampled ${mb(peakRss)}, high-water ${mb(final.hwm)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  // BENCH_TIMELINE=1: posts per 100 ms, to see bursts and stalls.
  if (process.env.BENCH_TIMELINE) {
    const buckets = new Map<number, number>();
    for (const p of slack.posted) buckets.set(Math.floor((p.at - t0) / 100), (buckets.get(Math.floor((p.at - t0) / 100)) ?? 0) + 1);
    process.stdout.write(
      `${[...buckets]
        .sort((a, b) => a[0] - b[0])
        .map(([b, n]) => `${(b / 10).toFixed(1)}s ${n}`)
        .join('  ')}\n`,
    );
  }

  await Promise.all(
    workers.map(
      (w) =>
        new Promise((r) => {
          w.once('exit', r);
          w.kill('SIGTERM');
        }),
    ),
  );
  await built.close();
  await slack.close();
  await cleanQueuePrefix(prefix);
  await db.drop();
  if (slack.posted.length < MESSAGES) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
