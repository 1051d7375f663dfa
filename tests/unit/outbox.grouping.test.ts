import { describe, expect, it } from 'vitest';
import { groupForDelivery } from '../../src/alerts/outbox.service.js';

const rows = (spec: [string, string][]) => spec.map(([id, channel_id]) => ({ id, channel_id }));

describe('grouping outbox rows into delivery jobs', () => {
  it('keeps each channel in claim order, one drain per channel per job', () => {
    const groups = groupForDelivery(
      rows([
        ['3', 'C1'],
        ['1', 'C1'],
        ['2', 'C2'],
        ['4', 'C1'],
      ]),
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]!.deliveries).toEqual([
      { channel: 'C1', ids: ['1', '3', '4'] },
      { channel: 'C2', ids: ['2'] },
    ]);
    expect(groups[0]!.jobId).toMatch(/^deliver-[0-9a-f-]{36}$/);
  });

  it('splits a long channel backlog across jobs, and caps channels per job', () => {
    const many = rows(Array.from({ length: 7 }, (_, i) => [String(i + 1), 'C1'] as [string, string]));
    const groups = groupForDelivery(many, { perChannel: 3, channelsPerJob: 20 });
    expect(groups.map((g) => g.deliveries.map((d) => d.ids))).toEqual([[['1', '2', '3']], [['4', '5', '6']], [['7']]]);

    const wide = rows(Array.from({ length: 5 }, (_, i) => [String(i + 1), `C${i}`] as [string, string]));
    const byJob = groupForDelivery(wide, { perChannel: 50, channelsPerJob: 2 });
    expect(byJob.map((g) => g.deliveries.map((d) => d.channel))).toEqual([['C0', 'C1'], ['C2', 'C3'], ['C4']]);
    expect(new Set(byJob.map((g) => g.jobId)).size).toBe(3);
  });
});
