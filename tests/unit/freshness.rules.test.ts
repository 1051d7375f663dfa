import { describe, expect, it } from 'vitest';
import { ageSeconds, formatFreshness, shortAge, type FreshnessReport } from '../../src/scores/freshness.rules.js';

const at = new Date('2026-12-05T12:00:00Z');
const ago = (s: number) => new Date(at.getTime() - s * 1000);

function report(over: Partial<FreshnessReport> = {}): FreshnessReport {
  return {
    at,
    queues: {
      scoring: { waiting: 2, active: 1, delayed: 1, prioritized: 40, failed: 0 },
      delivery: { waiting: 1200, active: 32, delayed: 0, prioritized: 0, failed: 3 },
      scans: {},
    },
    lastRuns: [
      {
        kind: 'full',
        id: '7',
        status: 'done',
        startedAt: ago(9.5 * 3600),
        finishedAt: ago(9.5 * 3600 - 74.2),
        selected: 1_000_000,
        scored: 1_000_000,
        batches: 500,
        failedBatches: 0,
      },
      { kind: 'incremental', id: '42', status: 'done', startedAt: ago(12), finishedAt: ago(10.7), selected: 520, scored: 518, batches: 1, failedBatches: 0 },
    ],
    activity: { open: 1, oldestOpenAt: ago(3), startedSince: { full: 0, incremental: 14 } },
    unscored: { customers: 500, oldestAt: ago(8) },
    outbox: { waiting: 17, oldestWaitingAt: ago(4), failed: 0 },
    sources: [
      { source: 'api', newestAt: ago(2) },
      { source: 'csv', newestAt: ago(3 * 86_400) },
    ],
    ...over,
  };
}

describe('retain status', () => {
  it('prints, for the person on call, queues, the last runs, the score lag, the outbox and the newest signal per source', () => {
    const text = formatFreshness(report()).join('\n');
    expect(text).toMatch(/^queues\s+waiting\s+active\s+delayed\s+prioritized\s+failed$/m);
    expect(text).toMatch(/^ {2}delivery\s+1,200\s+32\s+0\s+0\s+3$/m);
    expect(text).toMatch(/last full\s+run 7 done, started 10 h ago, took 74\.2 s: 1,000,000 customers scored$/m);
    expect(text).toMatch(/last incremental\s+run 42 done, started 12 s ago, took 1\.3 s: 518 customers scored of 520 selected$/m);
    expect(text).toMatch(/open now\s+1 \(oldest started 3 s ago\)/);
    expect(text).toMatch(/started last hour\s+14 incremental, 0 full/);
    expect(text).toContain('score lag: oldest unscored change 8 s old (500 customers waiting)');
    expect(text).toContain('outbox: 17 messages waiting (oldest 4 s), 0 failed');
    expect(text).toContain('newest signal per source: api 2 s ago · csv 3 d ago');
  });

  it('says so when nothing waits, nothing ran yet, or Redis is down', () => {
    const text = formatFreshness(
      report({
        queues: null,
        lastRuns: [],
        activity: { open: 0, oldestOpenAt: null, startedSince: { full: 0, incremental: 0 } },
        unscored: { customers: 0, oldestAt: null },
        sources: [],
        outbox: { waiting: 0, oldestWaitingAt: null, failed: 2 },
      }),
    ).join('\n');
    expect(text).toMatch(/Redis cannot be reached/);
    expect(text).toMatch(/last full\s+none yet/);
    expect(text).toContain('score lag: none — every change is scored');
    expect(text).toContain('0 messages waiting, 2 failed (retain outbox --retry)');
    expect(text).toContain('newest signal per source: none yet');
  });

  it('ages are never negative and read at a glance', () => {
    expect(ageSeconds(new Date(at.getTime() + 5000), at)).toBe(0);
    expect([shortAge(4), shortAge(600), shortAge(3 * 3600), shortAge(2 * 86_400)]).toEqual(['4 s', '10 min', '3 h', '2 d']);
  });
});
