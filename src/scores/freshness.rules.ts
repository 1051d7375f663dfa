import type { LastRun, OutboxBacklog, RunActivity, SourceArrival, UnscoredChanges } from './freshness.repository.js';

/** Everything `retain status` prints and /metrics exposes about freshness. Pure: values in, lines out. */
export interface FreshnessReport {
  at: Date;
  /** Jobs per queue and state; null when Redis could not be reached. */
  queues: Record<string, Record<string, number>> | null;
  lastRuns: LastRun[];
  activity: RunActivity;
  unscored: UnscoredChanges;
  outbox: OutboxBacklog;
  sources: SourceArrival[];
}

/** Seconds from `then` to `now` (never negative: stamps from another clock may run a little ahead). */
export function ageSeconds(then: Date, now: Date): number {
  return Math.max(0, (now.getTime() - then.getTime()) / 1000);
}

/** A short age a person reads at a glance: 4 s, 12 min, 3 h, 2 d. */
export function shortAge(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}

const n = (x: number) => x.toLocaleString('en-US');
const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

function runLine(r: LastRun | undefined, now: Date): string {
  if (!r) return 'none yet';
  const took = r.finishedAt ? `${((r.finishedAt.getTime() - r.startedAt.getTime()) / 1000).toFixed(1)} s` : '?';
  const failed = r.failedBatches ? `, ${r.failedBatches} batch(es) failed` : '';
  const selected = r.selected !== null && r.selected !== r.scored ? ` of ${n(r.selected)} selected` : '';
  return `run ${r.id} ${r.status}, started ${shortAge(ageSeconds(r.startedAt, now))} ago, took ${took}: ${n(r.scored)} customers scored${selected}${failed}`;
}

export function formatFreshness(r: FreshnessReport): string[] {
  const now = r.at;
  const lines = [`retain status — ${now.toISOString().replace('T', ' ').slice(0, 19)} UTC`, ''];
  if (r.queues) {
    lines.push(`queues      ${STATES.map((s) => s.padStart(12)).join('')}`);
    for (const [queue, counts] of Object.entries(r.queues)) lines.push(`  ${queue.padEnd(10)}${STATES.map((s) => n(counts[s] ?? 0).padStart(12)).join('')}`);
  } else {
    lines.push('queues: Redis cannot be reached (REDIS_URL or REDIS_CLUSTER_NODES) — nothing is queued or scored until it is back');
  }
  lines.push('', 'scoring runs');
  lines.push(
    `  last full          ${runLine(
      r.lastRuns.find((x) => x.kind === 'full'),
      now,
    )}`,
  );
  lines.push(
    `  last incremental   ${runLine(
      r.lastRuns.find((x) => x.kind === 'incremental'),
      now,
    )}`,
  );
  const open = r.activity.oldestOpenAt ? `${r.activity.open} (oldest started ${shortAge(ageSeconds(r.activity.oldestOpenAt, now))} ago)` : '0';
  lines.push(`  open now           ${open}`);
  lines.push(`  started last hour  ${r.activity.startedSince.incremental} incremental, ${r.activity.startedSince.full} full`);
  lines.push('');
  lines.push(
    r.unscored.oldestAt
      ? `score lag: oldest unscored change ${shortAge(ageSeconds(r.unscored.oldestAt, now))} old (${n(r.unscored.customers)} customer${r.unscored.customers === 1 ? '' : 's'} waiting)`
      : 'score lag: none — every change is scored',
  );
  const oldest = r.outbox.oldestWaitingAt ? ` (oldest ${shortAge(ageSeconds(r.outbox.oldestWaitingAt, now))})` : '';
  lines.push(
    `outbox: ${n(r.outbox.waiting)} message${r.outbox.waiting === 1 ? '' : 's'} waiting${oldest}, ${n(r.outbox.failed)} failed${r.outbox.failed ? ' (retain outbox --retry)' : ''}`,
  );
  lines.push(
    `newest signal per source: ${r.sources.length ? r.sources.map((s) => `${s.source} ${shortAge(ageSeconds(s.newestAt, now))} ago`).join(' · ') : 'none yet'}`,
  );
  return lines;
}
