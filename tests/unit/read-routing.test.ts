import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/platform/logger.js';
import { isUnavailable, ReplicaMonitor } from '../../src/platform/read-routing.js';
import { parseLsn } from '../../src/platform/replica.repository.js';

/** A pool whose one query answers what `next` says (a WAL position, null, or a thrown error). */
function fakePool(next: () => string | null | Error): pg.Pool {
  return {
    query: async () => {
      const v = next();
      if (v instanceof Error) throw v;
      return { rows: [{ lsn: v }] };
    },
  } as unknown as pg.Pool;
}

function monitorOver(primary: () => string, replica: () => string | null | Error, maxLagS = 30) {
  let t = 0;
  const m = new ReplicaMonitor(fakePool(primary), fakePool(replica), silentLogger, { now: () => t, maxLagS });
  return { m, advance: (ms: number) => (t += ms) };
}

describe('read routing', () => {
  it('orders WAL positions as numbers', () => {
    expect(parseLsn('0/9') < parseLsn('0/1A')).toBe(true);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
  });

  it('uses the replica once it has replayed where the primary was at start, and measures how long it has been behind', async () => {
    let primary = '0/100';
    let replayed = '0/80';
    const { m, advance } = monitorOver(
      () => primary,
      () => replayed,
    );
    await m.probe();
    expect(m.state().state).toBe('starting');
    replayed = '0/100';
    advance(1_000);
    await m.probe();
    expect(m.state()).toEqual({ state: 'up', lagSeconds: 0 });
    expect(m.hasReplayed(parseLsn('0/100'))).toBe(true);
    expect(m.hasReplayed(parseLsn('0/101'))).toBe(false);

    // The primary moves on and the replica stands still: behind since the first position it lacks.
    primary = '0/200';
    advance(1_000);
    await m.probe();
    primary = '0/300';
    advance(5_000);
    await m.probe();
    expect(m.state()).toEqual({ state: 'up', lagSeconds: 5 });
    advance(30_000);
    await m.probe();
    expect(m.state().state).toBe('lagging');
    expect(m.usable()).toBe(false);

    replayed = '0/300';
    advance(1_000);
    await m.probe();
    expect(m.state()).toEqual({ state: 'up', lagSeconds: 0 });
  });

  it('marks the replica down on a failure and back up when a probe reaches it', async () => {
    let down = false;
    const { m } = monitorOver(
      () => '0/10',
      () => (down ? Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5433'), { code: 'ECONNREFUSED' }) : '0/10'),
    );
    await m.probe();
    expect(m.usable()).toBe(true);
    m.failed(Object.assign(new Error('Connection terminated unexpectedly'), {}));
    expect(m.usable()).toBe(false);
    down = true;
    await m.probe();
    expect(m.state()).toMatchObject({ state: 'down', error: 'ECONNREFUSED' });
    down = false;
    await m.probe();
    expect(m.usable()).toBe(true);
  });

  it('does not read from a server that is not a standby', async () => {
    const { m } = monitorOver(
      () => '0/10',
      () => null,
    );
    await m.probe();
    expect(m.state().state).toBe('not_standby');
    expect(m.usable()).toBe(false);
  });

  it('tells an unreachable server from a failed query', () => {
    for (const e of [
      { code: 'ECONNREFUSED' },
      { code: '57P01', message: 'terminating connection due to administrator command' },
      { code: '3D000', message: 'database "x" does not exist' },
      { message: 'Connection terminated unexpectedly' },
      { message: 'timeout exceeded when trying to connect' },
    ])
      expect(isUnavailable(e)).toBe(true);
    for (const e of [{ code: '42P01' }, { code: '57014', message: 'canceling statement due to statement timeout' }, new Error('boom')])
      expect(isUnavailable(e)).toBe(false);
  });
});
