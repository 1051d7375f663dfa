import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
