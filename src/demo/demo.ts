import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { AppConfig } from '../config/index.js';
import type { Io } from '../cli/command.js';
import { upsertMember, upsertTeam, findTeamByKey } from '../customers/roster.repository.js';
import { formatImportReport, importCustomers, importEvents } from '../ingest/import.service.js';
import { start } from '../main.js';
import type { AppContext } from '../platform/context.js';
import { createDb } from '../platform/db.js';
import { createLogger } from '../platform/logger.js';
import { clearQueuePrefix, describeRedisTarget } from '../platform/redis.js';
import { blocksToText } from '../slack/blocks.js';
import { createConsoleGateway } from '../slack/gateway.js';
import { localDate as localDateIn } from '../alerts/localtime.js';
import { composeDigest } from '../digest/digest.service.js';
import { scanRenewals } from '../renewals/renewal.service.js';
import { customersCsv, eventsCsv, generateDemoBook, type DemoBook } from './generate.js';

/**
 * `retain demo`: the real pipeline on the local Postgres and Redis, in console
 * mode. Seeds a deterministic book through the real CSV import, runs the
 * scoring through the real queue and worker, then shows what reps would see.
 * Safe to re-run: every step is idempotent.
 */
async function seedPeople(ctx: AppContext, book: DemoBook): Promise<void> {
  for (const t of book.teams) await upsertTeam(ctx.db, { key: t.key, name: t.name, channelId: t.channelId, tz: t.tz });
  for (const m of book.members) {
    const team = await findTeamByKey(ctx.db, m.team);
    await upsertMember(ctx.db, { slackUserId: m.slackUserId, teamId: team!.id, role: m.role, alertChannelId: null, displayName: m.name });
  }
}

async function seedTouches(ctx: AppContext, book: DemoBook): Promise<void> {
  // Set-based and idempotent: a touch or feedback already present (same customer, kind, time) is skipped.
  await sql`
    INSERT INTO interactions (customer_id, author_slack_id, kind, note, occurred_at)
    SELECT c.id, t.author, t.kind, t.note, t."occurredAt"::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(book.touches)}::jsonb) AS t(customer text, author text, kind text, note text, "occurredAt" text)
    JOIN customers c ON c.external_id = t.customer
    WHERE NOT EXISTS (SELECT 1 FROM interactions i WHERE i.customer_id = c.id AND i.kind = t.kind AND i.occurred_at = t."occurredAt"::timestamptz)`.execute(
    ctx.db,
  );
  await sql`
    INSERT INTO feedback (customer_id, author_slack_id, kind, sentiment, text, source, created_at)
    SELECT c.id, f.author, f.kind, f.sentiment, f.text, 'demo', f."createdAt"::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(book.feedback)}::jsonb) AS f(customer text, author text, kind text, sentiment numeric, text text, "createdAt" text)
    JOIN customers c ON c.external_id = f.customer
    WHERE NOT EXISTS (SELECT 1 FROM feedback x WHERE x.customer_id = c.id AND x.created_at = f."createdAt"::timestamptz)`.execute(ctx.db);
  // Status follows the book on every run (a book from an older version may have churned other accounts).
  const status = book.customers.map((c) => ({ id: c.externalId, at: c.churnedAt }));
  await sql`
    UPDATE customers c
    SET status = CASE WHEN x.at IS NULL THEN 'active' ELSE 'churned' END, churned_at = x.at::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(status)}::jsonb) AS x(id text, at text)
    WHERE c.external_id = x.id AND (c.status, c.churned_at) IS DISTINCT FROM (CASE WHEN x.at IS NULL THEN 'active' ELSE 'churned' END, x.at::timestamptz)`.execute(
    ctx.db,
  );
}

/** A book generated on an earlier day has other timestamps: drop its signals, touches and feedback first. */
async function replaceStaleDemoData(ctx: AppContext, book: DemoBook): Promise<void> {
  const probe = book.events[0]!;
  const demo = await sql<{ total: string; current: string }>`
    SELECT count(*) AS total, count(*) FILTER (WHERE s.occurred_at = ${probe.occurredAt}::timestamptz) AS current
    FROM signals s WHERE s.source = 'demo' AND s.external_id = ${probe.externalId}`.execute(ctx.db);
  const row = demo.rows[0];
  if (!row || Number(row.total) === 0 || Number(row.current) > 0) return;
  const authors = book.members.map((m) => m.slackUserId);
  await sql`DELETE FROM signals WHERE source = 'demo'`.execute(ctx.db);
  await sql`DELETE FROM feedback WHERE source = 'demo'`.execute(ctx.db);
  await ctx.db.deleteFrom('interactions').where('author_slack_id', 'in', authors).execute();
}

const KIND_LABELS: Record<string, string> = {
  churn_warning: 'churn warning',
  warning_closed: 'warning update',
  renewal_reminder: 'renewal reminder',
  complaint_tier_a: 'tier-A complaint alert',
};

/** The newest notification's id: what is raised after this moment has a larger one. */
async function lastNotificationId(ctx: AppContext): Promise<string> {
  const row = await ctx.db.selectFrom('notifications').select(sql<string>`coalesce(max(id), 0)`.as('id')).executeTakeFirst();
  return row?.id ?? '0';
}

/**
 * Notifications raised after `afterId`, by kind, once none of them is still
 * waiting to be delivered (or the timeout passed).
 */
async function waitForDeliveries(ctx: AppContext, afterId: string, timeoutMs: number): Promise<{ kind: string; n: number }[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const rows = await ctx.db
      .selectFrom('notifications')
      .select(['kind', ctx.db.fn.countAll<string>().as('n'), sql<string>`count(*) FILTER (WHERE status IN ('pending', 'sending'))`.as('waiting')])
      .where('id', '>', afterId)
      .groupBy('kind')
      .orderBy('kind')
      .execute();
    const waiting = rows.reduce((n, r) => n + Number(r.waiting), 0);
    if (waiting === 0 || Date.now() > until) return rows.map((r) => ({ kind: r.kind, n: Number(r.n) }));
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Until the run opened by a `rescore` job has finished and its last batch job
 * is done too: a batch's score hooks (the churn warnings) run just after it
 * closes the run.
 */
async function waitForRun(ctx: AppContext, jobId: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await ctx.db.selectFrom('scoring_runs').select('status').where('job_key', '=', jobId).executeTakeFirst();
    const scoring = (await ctx.queues!.counts()).scoring ?? {};
    const busy = (scoring.active ?? 0) + (scoring.waiting ?? 0) + (scoring.prioritized ?? 0);
    if ((run && run.status !== 'running' && busy === 0) || Date.now() > until) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDemo(config: AppConfig, io: Io, opts: { lookups?: string[] } = {}): Promise<number> {
  const logger = createLogger(config.env.LOG_LEVEL === 'info' ? 'warn' : config.env.LOG_LEVEL);
  // The demo's queues are its own, so a running `retain start` never takes its jobs.
  const demoConfig: AppConfig = {
    ...config,
    env: { ...config.env, RETAIN_QUEUE_PREFIX: `${config.env.RETAIN_QUEUE_PREFIX}-demo` },
    slack: { kind: 'console' },
    settings: { ...config.settings, pacing: { ...config.settings.pacing, perChannelMs: 0 } },
  };
  const printed: string[] = [];
  const gateway = createConsoleGateway((line) => printed.push(line));
  io.out(`retain demo — database ${new URL(config.env.DATABASE_URL).pathname.slice(1)}, redis ${describeRedisTarget(config.env)}`);
  // The demo's queues are scratch space: start each run from empty ones, so
  // jobs of an earlier demo (perhaps on a database since recreated) never linger.
  await clearQueuePrefix(config.env, demoConfig.env.RETAIN_QUEUE_PREFIX);
  const running = await start({ roles: ['worker'], config: demoConfig, logger, slack: gateway, schedules: false });
  const { ctx } = running;
  try {
    // Anchored at the start of today (UTC): re-running today changes nothing;
    // on a later day the previous book's signals are replaced, not doubled.
    const today = new Date(`${ctx.clock.now().toISOString().slice(0, 10)}T00:00:00Z`);
    const book = generateDemoBook(today);
    await replaceStaleDemoData(ctx, book);
    io.out(
      `\n1. Sample book: ${book.customers.length} customers in ${book.teams.length} teams, ${book.members.length} people, ${book.events.length} signals over 18 months`,
    );
    await seedPeople(ctx, book);
    const dir = mkdtempSync(join(tmpdir(), 'retain-demo-'));
    writeFileSync(join(dir, 'customers.csv'), customersCsv(book));
    writeFileSync(join(dir, 'events.csv'), eventsCsv(book));
    const handle = createDb(config.env.DATABASE_URL, logger, 2);
    try {
      io.out(formatImportReport('customers', await importCustomers(handle.db, join(dir, 'customers.csv'), 'customers.csv')));
      io.out(formatImportReport('events', await importEvents(handle.pool, join(dir, 'events.csv'), 'events.csv', 'demo')));
    } finally {
      await handle.close();
    }
    await seedTouches(ctx, book);

    io.out('\n2. Scoring the book through the queue (worker in this process)…');
    const started = performance.now();
    const beforeScoring = await lastNotificationId(ctx);
    // A job id of its own: the demo's queues start empty each time, so BullMQ's
    // counter restarts at 1 and would name an earlier demo's run.
    const jobId = await ctx.queues!.add('rescore', { mode: 'full' }, { jobId: `demo-rescore-${Date.now()}` });
    await waitForRun(ctx, jobId ?? '', 120_000);
    const run = await ctx.db
      .selectFrom('scoring_runs')
      .selectAll()
      .where('job_key', '=', jobId ?? '')
      .executeTakeFirst();
    const bands = await ctx.db
      .selectFrom('customer_scores')
      .select(['band', ctx.db.fn.countAll<string>().as('n')])
      .groupBy('band')
      .execute();
    io.out(
      `   run ${run?.id ?? '?'} ${run?.status ?? ''}: ${run?.customers_scored ?? 0} customers scored in ${((performance.now() - started) / 1000).toFixed(1)}s; bands ${bands.map((b) => `${b.band} ${b.n}`).join(', ') || '(none yet)'}`,
    );

    // The run's warnings, then the reminders due today, go through the outbox:
    // wait for each to be delivered before showing a few of each.
    const raised = await waitForDeliveries(ctx, beforeScoring, 60_000);
    const fromScoring = printed.length;
    const beforeScan = await lastNotificationId(ctx);
    await scanRenewals(ctx);
    const counts = [...raised, ...(await waitForDeliveries(ctx, beforeScan, 60_000))];
    const total = counts.reduce((n, r) => n + r.n, 0);
    if (total > 0) {
      const what = counts.map((r) => `${r.n} ${KIND_LABELS[r.kind] ?? r.kind.replace(/_/g, ' ')}${r.n === 1 ? '' : 's'}`).join(', ');
      io.out(`\n3. What retain posted to Slack (printed here, console mode): ${what}. The first few:`);
      for (const line of [...printed.slice(0, Math.min(fromScoring, 3)), ...printed.slice(fromScoring, fromScoring + 2)]) io.out(line);
    } else {
      io.out('\n3. Nothing new to post: every warning and reminder due was already sent by an earlier run (each is sent once).');
    }

    const rep = book.members.find((m) => m.role === 'rep')!;
    const slipping =
      book.customers.find((c) => c.archetype === 'slipping' && c.owner === rep.slackUserId) ?? book.customers.find((c) => c.archetype === 'slipping')!;
    const thriving = book.customers.find((c) => c.archetype === 'thriving')!;
    const chinese = book.customers.find((c) => /[\u4e00-\u9fff]/.test(c.name))!;
    const typo = thriving.name.replace(/[aeiou](?=[^aeiou]*$)/, '');
    const lookups = opts.lookups ?? [
      `/customer ${slipping.name}`,
      `/customer ${typo}`,
      `/customer ${chinese.name.slice(0, 2)}`,
      `/customer ${slipping.name.split(' ')[0]}`,
      '/customer mine',
    ];
    io.out(`\n4. What ${rep.name} (${rep.slackUserId}) sees in Slack:`);
    for (const line of lookups) {
      const m = /^(\/\S+)\s*(.*)$/.exec(line)!;
      const handler = ctx.wiring.slash.get(m[1]!);
      if (!handler) continue;
      const reply = await handler(ctx, { userId: rep.slackUserId, channelId: 'CDEMO', text: m[2] ?? '' });
      io.out(`\n$ ${line}\n${blocksToText(reply)}`);
    }
    const team = book.teams[0]!;
    const teamRow = await findTeamByKey(ctx.db, team.key);
    if (teamRow) {
      const now = ctx.clock.now();
      const digest = await composeDigest(ctx, teamRow, localDateIn(now, teamRow.tz), now);
      io.out(
        `\n5. The ${team.name} team's morning digest (posted to its channel at ${String(teamRow.digest_hour).padStart(2, '0')}:00 ${teamRow.tz}):\n${blocksToText({ text: digest.text, blocks: digest.blocks })}`,
      );
    }
    io.out('\nDone. Try your own: npx retain slash "/customer <name>" --as U0DEMOREP1');
    return 0;
  } finally {
    await running.stop();
  }
}
