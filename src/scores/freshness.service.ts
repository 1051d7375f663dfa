import type { AppContext } from '../platform/context.js';
import { registry } from '../platform/metrics.js';
import { lastRuns, newestPerSource, outboxBacklog, runActivity, unscoredChanges } from './freshness.repository.js';
import { ageSeconds, type FreshnessReport } from './freshness.rules.js';

const QUEUE_COUNTS_MS = 2_000;

/** The freshness figures, read now (`retain status`; /metrics through a short cache). */
export async function freshnessReport(ctx: AppContext): Promise<FreshnessReport> {
  const at = ctx.clock.now();
  const [queues, runs, activity, unscored, outbox, sources] = await Promise.all([
    queueCounts(ctx),
    lastRuns(ctx.readDb),
    runActivity(ctx.readDb, new Date(at.getTime() - 3600_000)),
    unscoredChanges(ctx.readDb),
    outboxBacklog(ctx.readDb),
    newestPerSource(ctx.readDb),
  ]);
  return { at, queues, lastRuns: runs, activity, unscored, outbox, sources };
}

async function queueCounts(ctx: AppContext): Promise<FreshnessReport['queues']> {
  if (!ctx.queues) return null;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ctx.queues.counts(),
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), QUEUE_COUNTS_MS);
      }),
    ]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

const gauges = {
  lag: registry.gauge('retain_score_lag_seconds', 'Age of the oldest change in data no score has read yet (0 when every change is scored)'),
  unscored: registry.gauge('retain_unscored_customers', 'Customers with data no score has read yet'),
  lastRunAge: registry.gauge('retain_last_run_age_seconds', 'Time since the newest finished scoring run started, by kind'),
  lastRunDuration: registry.gauge('retain_last_run_duration_seconds', 'Duration of the newest finished scoring run, by kind'),
  lastRunCustomers: registry.gauge('retain_last_run_customers', 'Customers scored by the newest finished scoring run, by kind'),
  openRuns: registry.gauge('retain_open_runs', 'Scoring runs open now'),
  outboxWaiting: registry.gauge('retain_outbox_waiting', 'Messages in the outbox not yet posted to Slack'),
  outboxOldest: registry.gauge('retain_outbox_oldest_seconds', 'Age of the oldest message waiting in the outbox (0 when none)'),
  outboxFailed: registry.gauge('retain_outbox_failed', 'Messages that failed for good (retain outbox --retry)'),
  newestSignal: registry.gauge('retain_newest_signal_age_seconds', 'Time since the newest arrival per signal source'),
};

/** At most one read of the figures per this long, however many scrapers. */
const METRICS_CACHE_MS = 5_000;

/** Computes the freshness gauges at scrape time (web role), from one cached read of the figures. */
export function installFreshnessMetrics(ctx: AppContext): void {
  let cached: { at: number; report: Promise<FreshnessReport> } | null = null;
  const refresh = async () => {
    const nowMs = Date.now();
    if (!cached || nowMs - cached.at > METRICS_CACHE_MS) {
      const report = freshnessReport({ ...ctx, queues: null });
      cached = { at: nowMs, report };
      report.catch(() => {
        cached = null;
      });
    }
    const r = await cached.report;
    const now = r.at;
    gauges.lag.set({}, r.unscored.oldestAt ? ageSeconds(r.unscored.oldestAt, now) : 0);
    gauges.unscored.set({}, r.unscored.customers);
    for (const run of r.lastRuns) {
      gauges.lastRunAge.set({ kind: run.kind }, ageSeconds(run.startedAt, now));
      if (run.finishedAt) gauges.lastRunDuration.set({ kind: run.kind }, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);
      gauges.lastRunCustomers.set({ kind: run.kind }, run.scored);
    }
    gauges.openRuns.set({}, r.activity.open);
    gauges.outboxWaiting.set({}, r.outbox.waiting);
    gauges.outboxOldest.set({}, r.outbox.oldestWaitingAt ? ageSeconds(r.outbox.oldestWaitingAt, now) : 0);
    gauges.outboxFailed.set({}, r.outbox.failed);
    for (const s of r.sources) gauges.newestSignal.set({ source: s.source }, ageSeconds(s.newestAt, now));
  };
  // Every gauge asks; the cache makes it one read per scrape.
  for (const g of Object.values(gauges)) g.collect = refresh;
}
