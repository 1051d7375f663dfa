import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/platform/logger.js';
import { createReplayGuard } from '../../src/slack/replay.js';
import { parseSlackBody, stripNul, verifySignature } from '../../src/slack/request.rules.js';

const SECRET = 'secret';
const signed = (body: string, ts: number) => ({
  'x-slack-request-timestamp': String(ts),
  'x-slack-signature': `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`,
});

describe('verifySignature', () => {
  const now = 1_800_000_000;
  it('accepts a fresh signature, and skew up to five minutes either way', () => {
    for (const ts of [now, now - 300, now + 300]) expect(verifySignature(signed('a=1', ts), Buffer.from('a=1'), SECRET, now)).toEqual({ ok: true });
  });
  it('refuses timestamps more than five minutes away, in both directions', () => {
    for (const ts of [now - 301, now + 301, now + 360]) expect(verifySignature(signed('a=1', ts), Buffer.from('a=1'), SECRET, now).ok).toBe(false);
  });
  it('refuses a body that is not the one signed, and malformed headers', () => {
    expect(verifySignature(signed('a=1', now), Buffer.from('a=2'), SECRET, now).ok).toBe(false);
    expect(verifySignature({ 'x-slack-request-timestamp': 'soon', 'x-slack-signature': 'v0=00' }, Buffer.from(''), SECRET, now).ok).toBe(false);
    expect(verifySignature({}, Buffer.from(''), SECRET, now).ok).toBe(false);
  });
});

describe('parseSlackBody', () => {
  it('any bytes, any content type: an answer, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
        ),
        fc.constantFrom(undefined, 'application/json', 'application/x-www-form-urlencoded'),
        (body, type) => {
          const r = parseSlackBody(type, Buffer.from(body));
          if (r.ok && r.kind === 'slack') expect(typeof r.body).toBe('object');
        },
      ),
      { numRuns: 500 },
    );
  });
  it('takes what Slack sends', () => {
    expect(parseSlackBody('application/x-www-form-urlencoded', Buffer.from('command=%2Fcustomer&user_id=U1&text=acme')).ok).toBe(true);
    expect(parseSlackBody('application/json', Buffer.from('{"type":"url_verification","challenge":"x"}')).ok).toBe(true);
    expect(parseSlackBody('application/x-www-form-urlencoded', Buffer.from('ssl_check=1'))).toEqual({ ok: true, kind: 'ssl_check' });
  });
});

describe('stripNul', () => {
  it('removes U+0000 from every string and key, in place', () => {
    const body = { text: 'a\u0000b', nested: [{ 'k\u0000': 'v\u0000' }], n: 1 };
    expect(stripNul(body)).toEqual({ text: 'ab', nested: [{ k: 'v' }], n: 1 });
  });
});

describe('replay guard', () => {
  it('with Redis unreachable, still catches a replay to the same process', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const guard = createReplayGuard(dead, 'rt_replay', silentLogger);
    expect(await guard.firstSight('sig-a')).toBe(true);
    expect(await guard.firstSight('sig-a')).toBe(false);
    expect(await guard.firstSight('sig-b')).toBe(true);
    dead.disconnect();
  });
});

describe('bodies Bolt would route as another kind', () => {
  const form = (payload: unknown) => Buffer.from(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  it('refuses an interaction that also carries an event or a command key', () => {
    const click = { type: 'block_actions', user: { id: 'U1' }, actions: [{ action_id: 'a' }] };
    expect(parseSlackBody('application/x-www-form-urlencoded', form(click)).ok).toBe(true);
    for (const extra of [{ event: null }, { event: 'x' }, { command: '/customer' }, { name: 'x' }]) {
      expect(parseSlackBody('application/x-www-form-urlencoded', form({ ...click, ...extra }))).toMatchObject({ ok: false, status: 400 });
    }
  });
  it('refuses a slash command form with an event field', () => {
    const body = Buffer.from('command=%2Fcustomer&user_id=U1&text=acme&event=x');
    expect(parseSlackBody('application/x-www-form-urlencoded', body)).toMatchObject({ ok: false, status: 400 });
  });
});
