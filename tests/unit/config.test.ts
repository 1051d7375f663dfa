import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashTagOf } from '../../src/config/env.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';

function errorLines(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.lines;
    throw e;
  }
  return [];
}

describe('config', () => {
  it('has the documented defaults and console mode without Slack credentials', () => {
    const c = loadConfig({});
    expect(c.env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/retain');
    expect(c.env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.env.PORT).toBe(3000);
    expect(c.slack).toEqual({ kind: 'console' });
    expect(c.settings.scoring.weights.engagement).toBe(0.25);
    expect(c.settings.renewals.reminderDays).toEqual([90, 60, 30, 14, 7, 1]);
    expect(Object.isFrozen(c.settings.scoring)).toBe(true);
  });

  it('picks HTTP or Socket Mode from the credentials', () => {
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }).slack.kind).toBe('http');
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slack.kind).toBe('socket');
  });

  it('reports every bad variable at once, one line each, naming it', () => {
    const lines = errorLines({ PORT: 'eighty', DATABASE_URL: 'mysql://x', SLACK_APP_TOKEN: 'nope' });
    expect(lines).toHaveLength(3);
    expect(lines.some((l) => l.startsWith('invalid environment variable PORT:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('invalid environment variable DATABASE_URL:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('invalid environment variable SLACK_APP_TOKEN:'))).toBe(true);
  });

  it('refuses half-configured Slack credentials', () => {
    expect(errorLines({ SLACK_SIGNING_SECRET: 'x' })[0]).toContain('SLACK_BOT_TOKEN');
  });

  it('validates the JSON config file and names the bad setting', () => {
    const dir = mkdtempSync(join(tmpdir(), 'retain-cfg-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ scoring: { bands: { green: 30, red: 60 }, weights: { engagement: -1 } }, digest: { defaultHour: 25 } }));
    const lines = errorLines({ RETAIN_CONFIG: bad });
    expect(lines.some((l) => l.includes('scoring.weights.engagement'))).toBe(true);
    expect(lines.some((l) => l.includes('scoring.bands') && l.includes('red threshold must be below green'))).toBe(true);
    expect(lines.some((l) => l.includes('digest.defaultHour'))).toBe(true);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ alerts: { dropPoints: 20 } }));
    expect(loadConfig({ RETAIN_CONFIG: good }).settings.alerts.dropPoints).toBe(20);
    writeFileSync(bad, '{not json');
    expect(errorLines({ RETAIN_CONFIG: bad })[0]).toContain('RETAIN_CONFIG');
    expect(errorLines({ RETAIN_CONFIG: join(dir, 'missing.json') })[0]).toContain('cannot read file');
  });

  it('debounces changes in data by schedules.debounceMs: 5 s unless set, and a setting out of range names itself', () => {
    expect(loadConfig({}).settings.schedules.debounceMs).toBe(5_000);
    const dir = mkdtempSync(join(tmpdir(), 'retain-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ schedules: { debounceMs: 250 } }));
    expect(loadConfig({ RETAIN_CONFIG: file }).settings.schedules.debounceMs).toBe(250);
    writeFileSync(file, JSON.stringify({ schedules: { debounceMs: 10 } }));
    expect(errorLines({ RETAIN_CONFIG: file }).join('\n')).toMatch(/schedules\.debounceMs.*≥ 100 ms/);
  });

  describe('REDIS_CLUSTER_NODES', () => {
    it('reads comma-separated seed nodes, IPv6 in brackets', () => {
      const c = loadConfig({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b.internal:7001,[::1]:7002 ' });
      expect(c.env.REDIS_CLUSTER_NODES).toEqual([
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ]);
      expect(loadConfig({}).env.REDIS_CLUSTER_NODES).toBeUndefined();
    });

    it('stops start-up with one line naming it when a node is not host:port', () => {
      for (const bad of ['10.0.0.1', '10.0.0.1:7000,', 'redis://10.0.0.1:7000', 'a:0', 'a:70000', 'a b:7000']) {
        const lines = errorLines({ REDIS_CLUSTER_NODES: bad });
        expect(lines, bad).toHaveLength(1);
        expect(lines[0]).toMatch(/^invalid environment variable REDIS_CLUSTER_NODES: must be comma-separated host:port seed nodes/);
      }
    });

    it('gives the queue prefix a hash tag when it has none, so every key of retain shares one slot', () => {
      const nodes = '127.0.0.1:7000';
      expect(loadConfig({ REDIS_CLUSTER_NODES: nodes }).env.RETAIN_QUEUE_PREFIX).toBe('{retain}');
      expect(loadConfig({ REDIS_CLUSTER_NODES: nodes, RETAIN_QUEUE_PREFIX: 'acme' }).env.RETAIN_QUEUE_PREFIX).toBe('{acme}');
      expect(loadConfig({ REDIS_CLUSTER_NODES: nodes, RETAIN_QUEUE_PREFIX: '{acme}' }).env.RETAIN_QUEUE_PREFIX).toBe('{acme}');
      expect(loadConfig({ REDIS_CLUSTER_NODES: nodes, RETAIN_QUEUE_PREFIX: 'acme-{eu}' }).env.RETAIN_QUEUE_PREFIX).toBe('acme-{eu}');
      // Empty braces are no hash tag to Redis: the whole key would be hashed.
      expect(loadConfig({ REDIS_CLUSTER_NODES: nodes, RETAIN_QUEUE_PREFIX: '{}acme' }).env.RETAIN_QUEUE_PREFIX).toBe('{{}acme}');
      // One Redis: the prefix is left as it is.
      expect(loadConfig({ RETAIN_QUEUE_PREFIX: 'acme' }).env.RETAIN_QUEUE_PREFIX).toBe('acme');
    });

    it('finds the hash tag as Redis does: the first { to the next }, when not empty', () => {
      expect(hashTagOf('{retain}:delivery:wait')).toBe('retain');
      expect(hashTagOf('retain:delivery')).toBeNull();
      expect(hashTagOf('{}x{y}')).toBeNull();
      expect(hashTagOf('a{b}{c}')).toBe('b');
      expect(hashTagOf('a}{b}')).toBe('b');
      expect(hashTagOf('{ab')).toBeNull();
    });
  });
});
