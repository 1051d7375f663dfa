/**
 * bench/lookup-http: `/customer <query>` as Slack sends it — signed slash
 * command POSTs against the real compiled `retain web` (a child process),
 * open loop at a fixed rate, on the book bench/lookup imports (same
 * generator, same query mix: 30% exact names, 20% prefixes, 20% typos, 15%
 * domains, 15% misses), right after the import — no VACUUM or ANALYZE beyond
 * what the import does.
 *
 *   npx tsx bench/lookup-http.bench.ts [--sizes 10000,100000,1000000] [--rate 200] [--seconds 30]
 *       [--burst-sizes 1000000] [--burst-rate 1000] [--burst-seconds 10] [--after-seconds 15] [--keep] [--reuse] [--web-prof DIR]
 *
 * Sends go out on a fixed timetable whatever the replies do. Latency runs from
 * a request's send to its reply content: the ack body when it carries the
 * answer, else the POST to the response_url (a local server here). Each reply
 * is classified (card — and whose —, choice, not found, busy, cannot reach
 * its database, other). Per phase it prints the offered and achieved rate,
 * p50/p90/p99/max overall and per query kind, counts per reply class, the
 * share of exact-name queries answered with that customer (its card, or the
 * choice among those sharing its name), acks slower than 3 s, and the CPU of
 * the generator and of the web process. After a burst, latency per 1-second
 * window shows when it is back to normal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import { loadavg } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { parseArgs } from '../src/cli/args.js';
import { dropDatabase } from '../src/platform/db.js';
import { clearQueuePrefix } from '../src/platform/redis.js';
import { ROOT, buildCompiledCli } from '../tests/helpers/compiled-cli.js';
import { REDIS_URL } from '../tests/helpers/db.js';
import { sign, slashBody } from '../tests/helpers/signed.js';
import { startSlackDouble } from '../tests/helpers/slack-double.js';
import { customerAt, queryMix, type BookQuery, type QueryKind } from './company-book.js';
import { pct, prepareBook } from './lookup.bench.js';

const args = parseArgs(process.argv.slice(2), ['keep', 'reuse']);
const num = (name: string, def: number) => Number(args.flags[name] ?? def);
const SIZES = String(args.flags.sizes ?? '10000,100000,1000000')
  .split(',')
  .map(Number);
const RATE = num('rate', 200);
const SECONDS = num('seconds', 30);
const BURST_SIZES = new Set(
  String(args.flags['burst-sizes'] ?? '1000000')
    .split(',')
    .map(Number),
);
const BURST_RATE = num('burst-rate', 1_000);
const BURST_SECONDS = num('burst-seconds', 10);
const AFTER_SECONDS = num('after-seconds', 15);
const KEEP = args.flags.keep !== undefined;
/** A directory for V8 CPU profiles of the web process (one per size, written when it stops). */
const WEB_PROF = typeof args.flags['web-prof'] === 'string' ? args.flags['web-prof'] : null;
const REUSE = args.flags.reuse !== undefined;
/** How long replies may still arrive after the last send. */
const DRAIN_MS = 8_000;
const DB_NAME = 'retain_bench_lookup_http';
const DB_URL = `postgres://postgres@127.0.0.1:5432/${DB_NAME}`;
const SECRET = 'bench-signing-secret-0123456789';

type ReplyClass = 'card' | 'choice' | 'not found' | 'busy' | 'no database' | 'other' | 'no reply';
interface Reply {
  cls: ReplyClass;
  /** For a card: the customer's external id and name; for a choice: the button labels. */
  externalId?: string;
  name?: string;
  labels?: string[];
}
interface Sent {
  q: BookQuery;
  scheduledAt: number;
  sentAt: number;
  ackAt?: number;
  ackStatus?: number;
  replyAt?: number;
  reply?: Reply;
  error?: string;
}

// ───────────────────────── what a reply says ─────────────────────────

type Blocks = { type: string; text?: { text?: string }; elements?: { text?: string | { text?: string } }[] }[];

function classify(body: { text?: string; blocks?: Blocks }): Reply {
  const text = body.text ?? '';
  const blocks = body.blocks ?? [];
  if (blocks[0]?.type === 'header') {
    const first = blocks[1]?.elements?.[0]?.text;
    return { cls: 'card', name: blocks[0].text?.text ?? '', externalId: (typeof first === 'string' ? first : '').split(' · ')[0]! };
  }
  if (text.includes('retain is busy')) return { cls: 'busy' };
  if (text.includes('cannot reach its database')) return { cls: 'no database' };
  if (text.startsWith('Several customers match')) {
    const labels = blocks.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []).map((e) => (typeof e.text === 'object' ? (e.text.text ?? '') : '')) : []));
    return { cls: 'choice', labels };
  }
  if (text.startsWith('No customer matches')) return { cls: 'not found' };
  return { cls: 'other' };
}

/** An exact-name query is answered right with that customer's card, or the choice among those sharing its name (its button among them). */
function exactAnswer(s: Sent): 'card' | 'choice' | 'wrong' {
  const c = customerAt(s.q.from!);
  const r = s.reply;
  if (r?.cls === 'card' && r.externalId === c.externalId) return 'card';
  if (r?.cls === 'choice' && r.labels?.some((l) => l === `${c.name}${c.domain ? ` (${c.domain})` : ''}`)) return 'choice';
  return 'wrong';
}

// ───────────────────────── the web process and the response_url ─────────────────────────

interface Web {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

async function startWeb(slackUrl: string, prefix: string): Promise<Web> {
  // The heap flags `bin/retain.js` would add for `web`, given here so it runs in this child rather than a grandchild whose CPU we could not read.
  const child = spawn(
    process.execPath,
    ['--max-old-space-size=256', '--max-semi-space-size=16', ...(WEB_PROF ? ['--cpu-prof', `--cpu-prof-dir=${WEB_PROF}`] : []), 'bin/retain.js', 'web'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: DB_URL,
        REDIS_URL,
        RETAIN_QUEUE_PREFIX: prefix,
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_BOT_TOKEN: 'xoxb-bench-token',
        SLACK_API_URL: slackUrl,
        PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stdout!.on('data', () => undefined);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`retain web announced no port: ${stderr}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`retain web exited (${code}): ${stderr}`)));
    child.stderr!.on('data', (d) => {
      stderr += String(d);
      const m = /running on port (\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  // Warnings the web process logs during the run (slow queries, sheds) go to our stderr, counted.
  child.stderr!.on('data', (d) => process.stderr.write(`  [web] ${String(d)}`));
  return {
    child,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** CPU seconds a process has used so far (user + system). */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The machine's load: load averages and, where the kernel reports it, the share of the last 10 s some task waited for a CPU. */
function machineLoad(): string {
  let pressure = '';
  try {
    const some = /some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    if (some) pressure = `, CPU pressure ${some[1]}%`;
  } catch {
    /* not Linux, or no PSI */
  }
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}${pressure}`;
}

/** CPU seconds the Postgres backends serving the bench database have used so far. */
function pgCpu(): number {
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`postgres ${DB_NAME} `)) total += cpuOf(Number(pid));
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}

/** The response_url endpoint: `/r/<n>` records the reply to request n when its body has arrived. */
async function startReplies(sent: Map<number, Sent>): Promise<{ server: Server; base: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const s = sent.get(Number(req.url?.slice(3)));
      if (s && s.replyAt === undefined) {
        s.replyAt = at;
        try {
          s.reply = classify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          s.reply = { cls: 'other' };
        }
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  return { server, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/r`, connections: () => connections };
}

// ───────────────────────── the web process's own view (/metrics) ─────────────────────────

/** Histogram totals summed over labels: bucket bound → cumulative count, plus sum and count. */
type Histo = { buckets: Map<number, number>; sum: number; count: number };
type Scrape = { histos: Map<string, Histo>; shed: number };

async function scrape(port: number): Promise<Scrape> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const histos = new Map<string, Histo>();
  let shed = 0;
  const histo = (name: string) => histos.get(name) ?? histos.set(name, { buckets: new Map(), sum: 0, count: 0 }).get(name)!;
  for (const line of text.split('\n')) {
    const m = /^(retain_[a-z_]+?)(_bucket|_sum|_count|_total)?(?:\{([^}]*)\})? ([\d.e+-]+)$/.exec(line);
    if (!m) continue;
    const [, name, part, labels, value] = m;
    const v = Number(value);
    if (name === 'retain_slash_shed' && part === '_total') shed += v;
    else if (part === '_bucket') {
      const le = Number(/le="([^"]+)"/.exec(labels ?? '')?.[1]);
      const h = histo(name!);
      h.buckets.set(le, (h.buckets.get(le) ?? 0) + v);
    } else if (part === '_sum') histo(name!).sum += v;
    else if (part === '_count') histo(name!).count += v;
  }
  return { histos, shed };
}

/** Mean and bucket-bounded p50/p99 of what a histogram gained between two scrapes. */
function histoLine(label: string, a: Histo | undefined, b: Histo | undefined): string {
  if (!b) return `${label} –`;
  const n = b.count - (a?.count ?? 0);
  if (n <= 0) return `${label} n 0`;
  const mean = ((b.sum - (a?.sum ?? 0)) / n) * 1000;
  const bound = (p: number) => {
    for (const [le, c] of [...b.buckets].sort((x, y) => x[0] - y[0])) if (c - (a?.buckets.get(le) ?? 0) >= p * n) return `≤ ${le * 1000} ms`;
    return `> ${Math.max(...b.buckets.keys()) * 1000} ms`;
  };
  return `${label} n ${n} mean ${mean.toFixed(1)} ms, p50 ${bound(0.5)}, p99 ${bound(0.99)}`;
}

function serverSide(a: Scrape | null, b: Scrape | null): string {
  if (!a || !b) return '    retain web /metrics: not read';
  const h = (name: string, label: string) => histoLine(label, a.histos.get(name), b.histos.get(name));
  return [
    `    retain web /metrics: ${h('retain_lookup_seconds', 'lookup queries (resolve)')}`,
    `      ${h('retain_slash_queue_wait_seconds', 'wait for a turn')}; ${h('retain_slash_command_seconds', 'command (turn + handler)')}; shed ${b.shed - a.shed}`,
  ].join('\n');
}

/** Whether Postgres's own upkeep ran on the book meanwhile (the import ends with ANALYZE; nothing here runs VACUUM). */
async function upkeep(): Promise<string> {
  const client = new pg.Client({ connectionString: DB_URL });
  try {
    await client.connect();
    const { rows } = await client.query<{ v: string; a: string; last: Date | null }>(
      `SELECT autovacuum_count AS v, autoanalyze_count AS a, last_autovacuum AS last FROM pg_stat_user_tables WHERE relname = 'customers'`,
    );
    const r = rows[0];
    return r ? `customers table: autovacuum ran ${r.v}× (last ${r.last?.toISOString().slice(11, 19) ?? 'never'} UTC), autoanalyze ${r.a}×` : '';
  } catch {
    return 'customers table: upkeep not read';
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ───────────────────────── the open loop ─────────────────────────

interface Segment {
  rate: number;
  seconds: number;
}

/**
 * Send `queries` on the timetable the segments give (request k of a segment
 * at k/rate seconds after it starts), never waiting for a reply.
 */
function openLoop(o: { port: number; agent: Agent; base: string; sent: Map<number, Sent>; next: () => number }, segments: Segment[], queries: BookQuery[]) {
  const times: number[] = [];
  let t0 = 0;
  for (const seg of segments) {
    const n = Math.round(seg.rate * seg.seconds);
    for (let k = 0; k < n; k++) times.push(t0 + (k * 1000) / seg.rate);
    t0 += seg.seconds * 1000;
  }
  const batch: Sent[] = [];
  const send = (q: BookQuery, scheduledAt: number) => {
    const id = o.next();
    const body = slashBody({ command: '/customer', text: q.text, userId: 'U0BOOK1', channelId: 'C0BOOK', responseUrl: `${o.base}/${id}` });
    const s: Sent = { q, scheduledAt, sentAt: performance.now() };
    o.sent.set(id, s);
    batch.push(s);
    const req = request(
      {
        host: '127.0.0.1',
        port: o.port,
        path: '/slack/events',
        method: 'POST',
        agent: o.agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...sign(SECRET, body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          s.ackAt = performance.now();
          s.ackStatus = res.statusCode;
          const text = Buffer.concat(chunks).toString('utf8');
          // An ack that carries the answer is the reply content itself.
          if (text.trim().startsWith('{') && s.replyAt === undefined) {
            try {
              const reply = classify(JSON.parse(text));
              if (reply.cls !== 'other') {
                s.replyAt = s.ackAt;
                s.reply = reply;
              }
            } catch {
              /* not JSON: an empty or plain ack */
            }
          }
        });
      },
    );
    req.on('error', (e) => {
      s.error = e.message;
    });
    req.end(body);
  };
  return new Promise<{ batch: Sent[]; start: number }>((resolve) => {
    const start = performance.now();
    let i = 0;
    const tick = () => {
      const elapsed = performance.now() - start;
      while (i < times.length && times[i]! <= elapsed) {
        send(queries[i % queries.length]!, start + times[i]!);
        i++;
      }
      if (i >= times.length) return resolve({ batch, start });
      setTimeout(tick, Math.max(0, times[i]! - (performance.now() - start)));
    };
    tick();
  });
}

async function drained(batch: Sent[]): Promise<void> {
  const until = performance.now() + DRAIN_MS;
  while (performance.now() < until && batch.some((s) => s.replyAt === undefined && s.error === undefined)) await new Promise((r) => setTimeout(r, 50));
  for (const s of batch) if (s.replyAt === undefined && !s.reply) s.reply = { cls: 'no reply' };
}

// ───────────────────────── the figures ─────────────────────────

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1).padStart(7) : '      –');
function latencyLine(label: string, xs: number[]): string {
  return `    ${label.padEnd(10)} n ${String(xs.length).padStart(6)}   p50 ${ms(pct(xs, 50))}   p90 ${ms(pct(xs, 90))}   p99 ${ms(pct(xs, 99))}   max ${ms(xs.length ? Math.max(...xs) : Number.NaN)} ms`;
}

function report(
  title: string,
  segments: Segment[],
  run: { batch: Sent[]; start: number },
  cpu: { bench: number; web: number; pg: number; wallS: number },
  windows: { seconds: number; burstUntil?: number },
) {
  const { batch } = run;
  const sends = batch.map((s) => s.sentAt);
  const span = (Math.max(...sends) - Math.min(...sends)) / 1000;
  const lag = Math.max(...batch.map((s) => s.sentAt - s.scheduledAt));
  const offered = segments.map((s) => `${s.rate}/s × ${s.seconds} s`).join(' then ');
  console.log(`  ${title}: offered ${offered}`);
  console.log(
    `    sent ${batch.length} in ${span.toFixed(2)} s = ${(batch.length / Math.max(span, 1e-9)).toFixed(0)}/s achieved (latest send ${lag.toFixed(1)} ms behind its slot); ` +
      `CPU over ${cpu.wallS.toFixed(1)} s: generator ${((cpu.bench / cpu.wallS) * 100).toFixed(0)}%, retain web ${((cpu.web / cpu.wallS) * 100).toFixed(0)}%, its Postgres backends ${((cpu.pg / cpu.wallS) * 100).toFixed(0)}% of a core; ${machineLoad()}`,
  );
  const acks = batch.filter((s) => s.ackAt !== undefined).map((s) => s.ackAt! - s.sentAt);
  const bad = batch.filter((s) => s.ackStatus !== undefined && s.ackStatus !== 200).length;
  const unacked = batch.filter((s) => s.ackAt === undefined).length;
  console.log(
    `    ack        p50 ${ms(pct(acks, 50))}   p99 ${ms(pct(acks, 99))}   max ${ms(acks.length ? Math.max(...acks) : Number.NaN)} ms; acks > 3 s: ${acks.filter((a) => a > 3_000).length}, non-200: ${bad}, never acked: ${unacked}`,
  );
  const lat = (xs: Sent[]) => xs.filter((s) => s.replyAt !== undefined).map((s) => s.replyAt! - s.sentAt);
  console.log('    send → reply content:');
  console.log(latencyLine('all', lat(batch)));
  for (const kind of ['exact', 'prefix', 'typo', 'domain', 'miss'] as QueryKind[]) console.log(latencyLine(kind, lat(batch.filter((s) => s.q.kind === kind))));
  const answered = batch.filter((s) => s.reply && s.reply.cls !== 'busy' && s.reply.cls !== 'no reply');
  console.log(latencyLine('not busy', lat(answered)));
  const classes = new Map<string, number>();
  for (const s of batch) classes.set(s.reply!.cls, (classes.get(s.reply!.cls) ?? 0) + 1);
  const errors = new Map<string, number>();
  for (const s of batch) if (s.error) errors.set(s.error, (errors.get(s.error) ?? 0) + 1);
  const errorList = [...errors].map(([k, v]) => `${v} × ${k}`).join(', ');
  console.log(`    replies: ${[...classes].map(([k, v]) => `${k} ${v}`).join(', ')}; transport errors ${errorList || 0}`);
  const exact = batch.filter((s) => s.q.kind === 'exact' && s.reply!.cls !== 'busy');
  const verdicts = exact.map(exactAnswer);
  const right = verdicts.filter((v) => v !== 'wrong').length;
  const busyExact = batch.filter((s) => s.q.kind === 'exact' && s.reply!.cls === 'busy').length;
  console.log(
    `    exact names: ${((right / Math.max(exact.length, 1)) * 100).toFixed(2)}% of ${exact.length} answered (not busy) with that customer — card ${verdicts.filter((v) => v === 'card').length}, shared-name choice ${verdicts.filter((v) => v === 'choice').length}, wrong ${exact.length - right}${busyExact ? `; ${busyExact} more were told busy` : ''}`,
  );
  for (const s of exact.filter((x) => exactAnswer(x) === 'wrong').slice(0, 3))
    console.log(`      wrong: "${s.q.text}" (${customerAt(s.q.from!).externalId}) → ${JSON.stringify(s.reply)}`);
  const width = windows.seconds * 1000;
  console.log(`    per ${windows.seconds}-second window by send time (s from the phase start):`);
  const last = Math.ceil(Math.max(...batch.map((s) => s.scheduledAt - run.start + 1)) / width);
  for (let w = 0; w < last; w++) {
    const inW = batch.filter((s) => s.scheduledAt - run.start >= w * width && s.scheduledAt - run.start < (w + 1) * width);
    const xs = lat(inW.filter((s) => s.reply!.cls !== 'busy'));
    const busy = inW.filter((s) => s.reply!.cls === 'busy').length;
    const ackMax = Math.max(...inW.map((s) => (s.ackAt ?? Number.POSITIVE_INFINITY) - s.sentAt));
    const tag = windows.burstUntil === undefined ? '' : (w + 1) * windows.seconds <= windows.burstUntil ? 'burst ' : 'after ';
    console.log(
      `      ${String(w * windows.seconds).padStart(2)}–${String((w + 1) * windows.seconds).padEnd(2)} ${tag}sent ${String(inW.length).padStart(4)}  busy ${String(busy).padStart(4)}  answered p50 ${ms(pct(xs, 50))}  p99 ${ms(pct(xs, 99))}  max ${ms(xs.length ? Math.max(...xs) : Number.NaN)} ms  ack max ${ms(ackMax)} ms`,
    );
  }
}

async function main() {
  await buildCompiledCli();
  const slack = await startSlackDouble();
  const sent = new Map<number, Sent>();
  const replies = await startReplies(sent);
  let seq = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 1_024, maxFreeSockets: 1_024 });
  try {
    for (const size of SIZES) {
      const { handle, importMs } = await prepareBook(DB_URL, size, REUSE);
      await handle.close();
      console.log(
        `bench/lookup-http — ${size.toLocaleString()} customers${importMs === null ? ' (reused)' : `, imported in ${(importMs / 1000).toFixed(1)} s`}; retain web (compiled), slash bound defaults; ${machineLoad()}`,
      );
      const prefix = `rb_lookuphttp_${randomBytes(3).toString('hex')}`;
      const web = await startWeb(slack.url, prefix);
      const ctx = { port: web.port, agent, base: replies.base, sent, next: () => ++seq };
      const phase = async (title: string, segments: Segment[], seed: number, windows: { seconds: number; burstUntil?: number }) => {
        const count = segments.reduce((n, s) => n + Math.round(s.rate * s.seconds), 0);
        const queries = queryMix(size, count, seed);
        const cpu0 = process.cpuUsage();
        const web0 = cpuOf(web.child.pid!);
        const pg0 = pgCpu();
        const m0 = await scrape(web.port).catch(() => null);
        const conn0 = replies.connections();
        const t0 = performance.now();
        const run = await openLoop(ctx, segments, queries);
        await drained(run.batch);
        const wallS = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(cpu0);
        const m1 = await scrape(web.port).catch(() => null);
        report(title, segments, run, { bench: (c.user + c.system) / 1e6, web: cpuOf(web.child.pid!) - web0, pg: pgCpu() - pg0, wallS }, windows);
        console.log(serverSide(m0, m1));
        console.log(`    ${await upkeep()}`);
        console.log(
          `    response_url: ${run.batch.filter((s) => s.reply && s.replyAt !== undefined && s.replyAt !== s.ackAt).length} replies over ${replies.connections() - conn0} new connections from retain web`,
        );
        sent.clear();
      };
      try {
        await phase('warm-up (not a target)', [{ rate: 50, seconds: 2 }], 3, { seconds: 1 });
        await phase(`steady`, [{ rate: RATE, seconds: SECONDS }], 11 + size, { seconds: 5 });
        if (BURST_SIZES.has(size))
          await phase(
            'burst',
            [
              { rate: BURST_RATE, seconds: BURST_SECONDS },
              { rate: RATE, seconds: AFTER_SECONDS },
            ],
            17 + size,
            { seconds: 1, burstUntil: BURST_SECONDS },
          );
      } finally {
        await web.stop();
        await clearQueuePrefix({ REDIS_URL }, prefix).catch(() => undefined);
      }
      if (!KEEP) await dropDatabase(DB_URL);
    }
  } finally {
    agent.destroy();
    replies.server.close();
    await slack.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
