import { expect } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { commands, withContext } from '../../src/cli.js';
import type { AppConfig } from '../../src/config/index.js';
import type { ScoredCustomer } from '../../src/scores/hooks.js';
import type { Band, StoredDriver, Tier } from '../../src/scores/score.table.js';
import type { TestApp } from '../helpers/app.js';
import { SIGNING_SECRET } from '../helpers/app.js';
import type { TestDb } from '../helpers/db.js';
import { buttonClick, interactiveBody, postSigned } from '../helpers/signed.js';

/** Shared by the alerts, renewals, digest and outbox e2e files. */

export const bandOf = (h: number): Band => (h < 40 ? 'red' : h < 70 ? 'yellow' : 'green');

export async function customerId(db: TestDb, name: string): Promise<string> {
  const row = await db.db.selectFrom('customers').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  return row.id;
}

export interface PlantedScore {
  name: string;
  health: number;
  pAlive?: number | null;
  tier?: Tier | null;
  drivers?: StoredDriver[];
}

/**
 * Write one scoring run's scores the way the rescore does (history + latest,
 * with previous health/band), and return what the rescore hands its hooks.
 */
export async function writeScores(db: TestDb, at: Date, rows: PlantedScore[]): Promise<ScoredCustomer[]> {
  const run = await db.db
    .insertInto('scoring_runs')
    .values({ kind: 'full', as_of: at, status: 'done', finished_at: at, started_at: at })
    .returning('id')
    .executeTakeFirstOrThrow();
  const out: ScoredCustomer[] = [];
  for (const r of rows) {
    const id = await customerId(db, r.name);
    const prev = await db.db.selectFrom('customer_scores').select(['health', 'band']).where('customer_id', '=', id).executeTakeFirst();
    const band = bandOf(r.health);
    const drivers = r.drivers ?? [];
    const cols = {
      scored_at: at,
      health: r.health,
      band,
      p_alive: r.pAlive ?? null,
      tier: r.tier ?? null,
      drivers: JSON.stringify(drivers),
      measures: '[]',
      stale: '[]',
    };
    const { drivers: _d, measures: _m, stale: _s, ...numbers } = cols;
    await db.db
      .insertInto('score_history')
      .values({ ...numbers, run_id: run.id, customer_id: id })
      .execute();
    await db.db
      .insertInto('customer_scores')
      .values({ ...cols, customer_id: id, run_id: run.id, previous_health: prev?.health ?? null, previous_band: prev?.band ?? null })
      .onConflict((oc) =>
        oc.column('customer_id').doUpdateSet({ ...cols, run_id: run.id, previous_health: prev?.health ?? null, previous_band: prev?.band ?? null }),
      )
      .execute();
    out.push({
      customerId: id,
      health: r.health,
      band,
      previousHealth: prev?.health ?? null,
      previousBand: prev?.band ?? null,
      pAlive: r.pAlive ?? null,
      tier: r.tier ?? null,
      drivers,
      scoredAt: at,
    });
  }
  return out;
}

export { until } from '../helpers/interact.js';

/** Messages the outbox posted with a given de-duplication key prefix. */
export const postedWith = (app: TestApp, prefix: string) => app.slack.posted.filter((p) => String(p.metadata?.event_payload.key ?? '').startsWith(prefix));

let seq = 0;
/** A signed button click on a posted message; returns the response_url id it may answer on. */
export async function click(app: TestApp, o: { actionId: string; value: string; userId: string; channel: string; ts: string }): Promise<string> {
  const id = `click${++seq}`;
  const res = await postSigned(
    app.eventsUrl,
    SIGNING_SECRET,
    interactiveBody(
      buttonClick({
        actionId: o.actionId,
        value: o.value,
        userId: o.userId,
        responseUrl: `${app.slack.responseBase}/${id}`,
        channelId: o.channel,
        messageTs: o.ts,
      }),
    ),
  );
  expect(res.status).toBe(200);
  return id;
}

export async function submitView(
  app: TestApp,
  o: { callbackId: string; userId: string; privateMetadata: string; values: Record<string, Record<string, unknown>> },
) {
  const res = await postSigned(
    app.eventsUrl,
    SIGNING_SECRET,
    interactiveBody({
      type: 'view_submission',
      team: { id: 'T1', domain: 'test' },
      user: { id: o.userId, name: o.userId.toLowerCase(), team_id: 'T1' },
      api_app_id: 'A1',
      token: 'legacy',
      trigger_id: '9.9.9',
      view: { id: 'V1', type: 'modal', callback_id: o.callbackId, private_metadata: o.privateMetadata, hash: 'h', state: { values: o.values } },
    }),
  );
  expect(res.status).toBe(200);
}

/** Run a `retain` verb in-process against the app's config; returns what it printed. */
export async function retain(config: AppConfig, words: string[], argv: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const cmd = commands.find((c) => c.path.join(' ') === words.join(' '));
  if (!cmd) throw new Error(`no command ${words.join(' ')}`);
  const out: string[] = [];
  const err: string[] = [];
  const code = await cmd.run(parseArgs(argv), { out: (l) => out.push(l), err: (l) => err.push(l) }, config, withContext);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
