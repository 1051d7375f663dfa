import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Who may import whom (docs/architecture.md). Each rule names a floor and the
 * floors its files may import values from; `import type` is free for the
 * platform (the Database type and the context gather the features' types).
 */
interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.{1,2}\/[^']+)'/gm;

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of files('src')) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const target = normalize(join(dirname(file), m[3]!)).replace(/\.js$/, '.ts');
      out.push({ from: relative('src', file), to: relative('src', target), typeOnly: m[2] !== undefined });
    }
  }
  return out;
}

const floor = (path: string) => (path.includes('/') ? path.split('/')[0]! : path);
const all = edges();
const violations = (pred: (e: Edge) => boolean) => all.filter(pred).map((e) => `${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''}`);

describe('architecture', () => {
  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(300);
  });

  it('slack/ is the kit and the transport: it imports no feature', () => {
    expect(violations((e) => floor(e.from) === 'slack' && !['slack', 'platform', 'config'].includes(floor(e.to)))).toEqual([]);
  });

  it('scoring/ is pure math: it imports only itself', () => {
    expect(violations((e) => floor(e.from) === 'scoring' && floor(e.to) !== 'scoring')).toEqual([]);
  });

  it('platform/ and jobs/ import no feature values (types only, for the Database type and the context)', () => {
    const base = ['platform', 'config', 'jobs', '..'];
    expect(violations((e) => ['platform', 'jobs'].includes(floor(e.from)) && !e.typeOnly && !base.includes(floor(e.to)))).toEqual([]);
  });

  it('config/ reads only table constants (the signal kinds) from features', () => {
    expect(violations((e) => floor(e.from) === 'config' && !['config', 'platform'].includes(floor(e.to)) && !e.to.endsWith('.table.ts'))).toEqual([]);
  });

  it('no feature imports the composition root, the feature list or the CLI entry', () => {
    const root = new Set(['main.ts', 'cli.ts', 'features.ts']);
    const allowed = new Set(['main.ts', 'cli.ts', 'features.ts']);
    // The demo is a CLI verb that starts the app itself; cli/command.ts names the built context's type.
    expect(violations((e) => root.has(e.to) && !allowed.has(e.from) && floor(e.from) !== 'demo' && !(e.from === 'cli/command.ts' && e.typeOnly))).toEqual([]);
  });
});
