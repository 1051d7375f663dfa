import type { Job } from 'bullmq';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '../../src/config/index.js';
import { start, type Running } from '../../src/main.js';
import { silentLogger } from '../../src/platform/logger.js';
import type { ScoredCustomer } from '../../src/scores/hooks.js';
import { features } from '../../src/features.js';
import type { Feature } from '../../src/feature.js';
import { rescoreHandlers } from '../../src/scores/rescore.job.js';
import { batchCustomerIds } from '../../src/scores/population.repository.js';
import { runBatch } from '../../src/scores/rescore.batch.service.js';
import { prepareRun } from '../../src/scores/rescore.prepare.service.js';
import { watchRuns } from '../../src/scores/rescore.watchdog.service.js';
import { getRun, type RunRow } from '../../src/scores/run.repository.js';
import { writeScores } from '../../src/scores/score.repository.js';
import { until } from '../helpers/interact.js';
import { abcTiers, scoreRfm } from '../../src/scoring/index.js';
import { cleanQueuePrefix, createTestDb, queuePrefix, REDIS_ENV, type TestDb } from '../helpers/db.js';
import { loadEventsCsv } from '../helpers/fixtures.js';
import { customerIdOf, loadBook, plantedBook } from './rescore.book.js';

const DAY = 86_400_000;
const now = new Date();
let db: TestDb;
let running: Running;
let prefix: string;
let config: AppConfig;
const hookCalls: { kind: string; scored: ScoredCustomer[] }[] = [];
/** Every feature, plus one that records what the scores-written hooks are told. */
const recordingHooks: Feature = {
  name: 'test-recorder',
  scoresWritten: [
    async (_ctx, run, scored) => {
      hookCalls.push({ kind: run.kind, scored });
    },
  ],
};

async function startWorker(batchSize: number): Promise<Running> {
  const settings = { ...config.settings, scoring: { ...config.settings.scoring, batchSize } };
  return start({
    roles: ['worker'],
    config: { ...config, settings },
    logger: silentLogger,
    migrate: false,
    schedules: false,
    features: [...features, recordingHooks],
  });
}

/** Enqueue a `rescore` job and wait until its run is no longer running. */
async function rescoreViaQueue(mode: 'full' | 'incremental', timeoutMs = 30_000): Promise<RunRow> {
  const jobId = await running.ctx.queues!.add('rescore', { mode });
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await sql<{ id: string }>`SELECT id FROM scoring_runs WHERE job_key = ${jobId!} AND status <> 'running'`.execute(db.db);
    if (r.rows[0]) return (await getRun(db.db, String(r.rows[0].id)))!;
    if (Date.now() > until) throw new Error(`run of job ${jobId} did not finish in ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function scoreOf(externalId: string) {
  return db.db
    .selectFrom('customer_scores as s')
    .innerJoin('customers as c', 'c.id', 's.customer_id')
    .selectAll('s')
    .where('c.external_id', '=', externalId)
    .executeTakeFirstOrThrow();
}

const historyCount = async (runId: string) =>
  Number((await sql<{ n: string }>`SELECT count(*) AS n FROM score_history WHERE run_id = ${runId}`.execute(db.db)).rows[0]!.n);

beforeAll(async () => {
  db = await createTestDb('rescore');
  await loadBook(db, plantedBook(now), now);
  prefix = queuePrefix('rescore');
  config = loadConfig({ DATABASE_URL: db.url, ...REDIS_ENV, RETAIN_QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' });
  running = await startWorker(10);
});

afterAll(async () => {
  await running?.stop();
  await cleanQueuePrefix(prefix);
  await db?.drop();
});

let firstRun: RunRow;

describe('full rescore through the queue', () => {
  it('scores every customer in batches and closes the run', async () => {
    firstRun = await rescoreViaQueue('full');
    expect(firstRun.status).toBe('done');
    expect(firstRun.batches_total).toBe(3); // 30 customers, batches of 10
    expect(firstRun.batches_done).toBe(3);
    expect(firstRun.batches_failed).toBe(0);
    expect(firstRun.customers_scored).toBe(30);
    expect(await historyCount(firstRun.id)).toBe(30);
    // The scratch population is gone once the run is closed.
    const left = await sql<{ n: string }>`SELECT count(*) AS n FROM run_population WHERE run_id = ${firstRun.id}`.execute(db.db);
    expect(Number(left.rows[0]!.n)).toBe(0);
    // There was no fit yet: the run fitted the purchase models first, and used them.
    const fits = await db.db.selectFrom('model_fits').select(['id', 'model']).execute();
    expect(fits.map((f) => f.model).sort()).toEqual(['bgnbd', 'gammagamma']);
    const context = firstRun.context as { models: { bgnbd: { fitId: string } } };
    expect(context.models.bgnbd.fitId).toBe(String(fits.find((f) => f.model === 'bgnbd')!.id));
  });

  it('puts the slipping account in red or yellow, with drivers naming the causes', async () => {
    const slip = await scoreOf('SLIP');
    expect(['red', 'yellow']).toContain(slip.band);
    const texts = slip.drivers.map((d) => d.text).join(' | ');
    expect(texts).toMatch(/usage down \d+% vs the previous 60 days/);
    expect(texts).toMatch(/complaints? in 30 days/);
    expect(texts).toMatch(/no touch in 200 days; tier A expects one every 30/);
    expect(slip.drivers.every((d) => d.direction === 'down')).toBe(true);
    expect(slip.tier).toBe('A');
  });

  it('puts the thriving account in green', async () => {
    const thrive = await scoreOf('THRIVE');
    expect(thrive.band).toBe('green');
    expect(thrive.health).toBeGreaterThanOrEqual(80);
    expect(thrive.p_alive).toBeGreaterThan(0.8);
    expect(Number(thrive.clv)).toBeGreaterThan(0);
    expect(thrive.newest_data_at).not.toBeNull();
  });

  it('sees that the account whose orders stopped is probably gone', async () => {
    const gone = await scoreOf('GONE');
    const thrive = await scoreOf('THRIVE');
    expect(gone.p_alive!).toBeLessThan(0.5);
    expect(gone.health).toBeLessThan(thrive.health);
    expect(gone.band).not.toBe('green');
    expect(gone.drivers.map((d) => d.text).join(' | ')).toMatch(/no usage in 90 days|orders have stopped/);
    // Its newest data is the last usage signal, eight months old.
    expect(now.getTime() - new Date(gone.newest_data_at!).getTime()).toBeGreaterThan(230 * DAY);
  });

  it('computes RFM quintiles and ABC tiers in SQL exactly as the pure functions do', async () => {
    const asOf = firstRun.as_of;
    const asOfDay = Math.floor(asOf.getTime() / DAY);
    const orders = await sql<{ id: string; arr: string | null; day: number; amount: number }>`
      SELECT c.id::text AS id, c.arr, floor(extract(epoch FROM s.occurred_at) / 86400)::int AS day, sum(s.value)::float8 AS amount
      FROM customers c JOIN signals s ON s.customer_id = c.id AND s.kind = 'order' AND s.occurred_at <= ${asOf}
      GROUP BY 1, 2, 3`.execute(db.db);
    const byCustomer = new Map<string, { arr: number | null; days: { day: number; amount: number }[] }>();
    for (const o of orders.rows) {
      const c = byCustomer.get(o.id) ?? { arr: o.arr === null ? null : Number(o.arr), days: [] };
      c.days.push({ day: o.day, amount: o.amount });
      byCustomer.set(o.id, c);
    }
    const rfmInput = [...byCustomer.entries()].map(([id, c]) => {
      const recent = c.days.filter((d) => d.day > asOfDay - 365);
      return {
        id,
        recencyDays: asOfDay - Math.max(...c.days.map((d) => d.day)),
        frequency: recent.length,
        monetary: recent.reduce((s, d) => s + d.amount, 0),
      };
    });
    const expectedRfm = new Map(scoreRfm(rfmInput).map((r) => [r.id, r]));
    const tierInput = rfmInput.map((r) => {
      const arr = byCustomer.get(r.id)!.arr;
      return { id: Number(r.id), value: arr !== null && arr > 0 ? arr : r.monetary };
    });
    const expectedTiers = abcTiers(tierInput);
    const stored = await db.db.selectFrom('customer_scores').select(['customer_id', 'rfm_r', 'rfm_f', 'rfm_m', 'rfm_segment', 'tier']).execute();
    expect(stored).toHaveLength(30);
    for (const s of stored) {
      const e = expectedRfm.get(String(s.customer_id))!;
      expect({ id: s.customer_id, r: s.rfm_r, f: s.rfm_f, m: s.rfm_m, segment: s.rfm_segment, tier: s.tier }).toEqual({
        id: s.customer_id,
        r: e.r,
        f: e.f,
        m: e.m,
        segment: e.segment,
        tier: expectedTiers.get(Number(s.customer_id)),
      });
    }
  });

  it('tells the scores-written hooks what was scored', async () => {
    // The run is done when its last batch commits; that batch's hooks run just after.
    const scored = await until(async () => {
      const all = hookCalls.filter((c) => c.kind === 'full').flatMap((c) => c.scored);
      return all.length >= 30 ? all : null;
    });
    expect(scored).toHaveLength(30);
    const slip = await scoreOf('SLIP');
    const hooked = scored.find((s) => s.customerId === String(slip.customer_id))!;
    expect(hooked).toMatchObject({ health: slip.health, band: slip.band, tier: 'A', previousHealth: null, previousBand: null });
    expect(hooked.drivers).toEqual(slip.drivers);
    expect(scored.every((s) => s.previousHealth === null && s.previousBand === null)).toBe(true);
  });
});

describe('re-runs and history', () => {
  let secondRun: RunRow;

  it('a second run keeps the first run’s health as previous_health', async () => {
    const before = await scoreOf('SLIP');
    // New complaints make the next score worse, so previous differs from current.
    await loadEventsCsv(
      db,
      `customer_external_id,kind,occurred_at,value,external_id\nSLIP,complaint,${new Date(now.getTime() - 2 * 3600_000).toISOString()},,SLIP-new-1\nSLIP,complaint,${new Date(now.getTime() - 3600_000).toISOString()},,SLIP-new-2\n`,
    );
    hookCalls.length = 0;
    secondRun = await rescoreViaQueue('full');
    const after = await scoreOf('SLIP');
    expect(String(after.run_id)).toBe(secondRun.id);
    expect(after.previous_health).toBe(before.health);
    expect(after.previous_band).toBe(before.band);
    expect(after.health).toBeLessThan(before.health);
    // The run is done when its last batch commits; that batch's hooks run just after.
    const hooked = await until(async () => hookCalls.flatMap((c) => c.scored).find((s) => s.customerId === String(after.customer_id)));
    expect(hooked.previousHealth).toBe(before.health);
    expect(hooked.health).toBe(after.health);
  });

  it('re-running a batch writes no duplicate history and keeps previous_health', async () => {
    const slipId = await customerIdOf(db, 'SLIP');
    const before = await scoreOf('SLIP');
    const batch = await sql<{ batch: number }>`SELECT batch FROM scoring_run_batches WHERE run_id = ${secondRun.id} ORDER BY batch LIMIT 1`.execute(db.db);
    expect(batch.rows).toHaveLength(1);
    const ids = [slipId];
    const result = await runBatch(running.ctx, { runId: secondRun.id, batch: batch.rows[0]!.batch, customerIds: ids });
    expect(result.rerun).toBe(true);
    expect(await historyCount(secondRun.id)).toBe(30);
    const again = await (await getRun(db.db, secondRun.id))!;
    expect(again.batches_done).toBe(again.batches_total);
    expect(again.customers_scored).toBe(30);
    const after = await scoreOf('SLIP');
    expect(after.previous_health).toBe(before.previous_health);
    expect(after.health).toBe(before.health);
  });

  it('the batch write itself is idempotent: rewriting the same rows changes nothing', async () => {
    const rows = await db.db.selectFrom('customer_scores').selectAll().where('run_id', '=', secondRun.id).execute();
    const scores = rows.map((r) => ({
      customerId: String(r.customer_id),
      health: r.health,
      band: r.band,
      pAlive: r.p_alive,
      expectedOrders90d: r.expected_orders_90d,
      clv: r.clv === null ? null : Number(r.clv),
      rfmR: r.rfm_r,
      rfmF: r.rfm_f,
      rfmM: r.rfm_m,
      rfmSegment: r.rfm_segment,
      tier: r.tier,
      drivers: r.drivers,
      measures: r.measures,
      stale: r.stale,
      newestDataAt: r.newest_data_at ? new Date(r.newest_data_at) : null,
    }));
    const previous = new Map(rows.map((r) => [String(r.customer_id), r.previous_health]));
    for (let i = 0; i < 2; i++) {
      const written = await writeScores(db.db, secondRun.id, secondRun.as_of, [], scores);
      expect(written).toHaveLength(rows.length);
      for (const w of written) expect(w.previousHealth).toBe(previous.get(w.customerId));
    }
    expect(await historyCount(secondRun.id)).toBe(30);
    const dupes = await sql<{ n: string }>`
      SELECT count(*) AS n FROM (SELECT run_id, customer_id FROM score_history GROUP BY 1, 2 HAVING count(*) > 1) d`.execute(db.db);
    expect(Number(dupes.rows[0]!.n)).toBe(0);
  });

  it('an older run never overwrites a newer latest score', async () => {
    const slip = await scoreOf('SLIP');
    const [row] = await db.db.selectFrom('score_history').selectAll().where('run_id', '=', firstRun.id).where('customer_id', '=', slip.customer_id).execute();
    const written = await writeScores(
      db.db,
      firstRun.id,
      firstRun.as_of,
      [],
      [
        {
          customerId: String(row!.customer_id),
          health: 1,
          band: 'red',
          pAlive: null,
          expectedOrders90d: null,
          clv: null,
          rfmR: null,
          rfmF: null,
          rfmM: null,
          rfmSegment: null,
          tier: null,
          drivers: [],
          measures: [],
          stale: [],
          newestDataAt: null,
        },
      ],
    );
    expect(written).toHaveLength(0);
    expect((await scoreOf('SLIP')).health).toBe(slip.health);
    // History of the old run was rewritten (same key), not duplicated.
    expect(await historyCount(firstRun.id)).toBe(30);
  });
});

describe('incremental runs', () => {
  it('rescore only the customers with new data since their last score, and never-scored ones', async () => {
    await db.db
      .updateTable('customers')
      .set({ data_changed_at: new Date(now.getTime() - 3 * 3600_000) })
      .execute();
    const before = await scoreOf('THRIVE');
    await loadEventsCsv(db, `customer_external_id,kind,occurred_at,value,external_id\nTHRIVE,usage,${new Date().toISOString()},150,THRIVE-inc-1\n`);
    // A customer imported without any data is selected but not scored: the card says "not scored yet".
    await db.db
      .insertInto('customers')
      .values({ external_id: 'EMPTY', name: 'Empty Co', data_changed_at: new Date(), created_at: new Date(), updated_at: new Date() })
      .execute();
    const run = await rescoreViaQueue('incremental');
    expect(run.status).toBe('done');
    expect(run.kind).toBe('incremental');
    expect((run.context as { selected: number }).selected).toBe(2);
    expect(run.customers_scored).toBe(1);
    const history = await db.db.selectFrom('score_history').select('customer_id').where('run_id', '=', run.id).execute();
    expect(history.map((h) => String(h.customer_id))).toEqual([await customerIdOf(db, 'THRIVE')]);
    const after = await scoreOf('THRIVE');
    expect(String(after.run_id)).toBe(run.id);
    expect(after.previous_health).toBe(before.health);
    const empty = await db.db
      .selectFrom('customer_scores')
      .selectAll()
      .where('customer_id', '=', await customerIdOf(db, 'EMPTY'))
      .execute();
    expect(empty).toHaveLength(0);
  });

  it("places changed customers by the last full run's ranking edges: the same RFM and tiers as ranking the whole base", async () => {
    const full = await rescoreViaQueue('full');
    const ranks = async () =>
      (
        await db.db.selectFrom('customer_scores').select(['customer_id', 'rfm_r', 'rfm_f', 'rfm_m', 'rfm_segment', 'tier']).orderBy('customer_id').execute()
      ).map((r) => ({
        ...r,
        customer_id: String(r.customer_id),
      }));
    const byFull = await ranks();
    expect(byFull.filter((r) => r.rfm_r !== null).length).toBeGreaterThan(20);
    expect(new Set(byFull.map((r) => r.tier))).toEqual(new Set(['A', 'B', 'C']));
    // Everyone changed: the incremental run reads only their orders and places them by the edges.
    await db.db.updateTable('customers').set({ data_changed_at: new Date() }).where('external_id', '<>', 'EMPTY').execute();
    const inc = await rescoreViaQueue('incremental');
    expect(inc.status).toBe('done');
    expect((inc.context as { rankedBy?: string }).rankedBy).toBe(full.id);
    expect((inc.context as { selected: number }).selected).toBe(byFull.length + 1);
    expect(await ranks()).toEqual(byFull);
    const scoredByInc = await db.db.selectFrom('customer_scores').select('customer_id').where('run_id', '=', inc.id).execute();
    expect(scoredByInc).toHaveLength(byFull.length);
  });

  it('with nothing changed, opens and closes an empty run', async () => {
    await db.db
      .updateTable('customers')
      .set({ data_changed_at: new Date(now.getTime() - 3 * 3600_000) })
      .where('external_id', '<>', 'EMPTY')
      .execute();
    await db.db.deleteFrom('customers').where('external_id', '=', 'EMPTY').execute();
    const run = await rescoreViaQueue('incremental');
    expect(run.status).toBe('done');
    expect(run.batches_total).toBe(0);
    expect(run.customers_scored).toBe(0);
  });
});

describe('failures', () => {
  it('a batch that fails once is retried by BullMQ and the run still finishes done', async () => {
    const goneId = await customerIdOf(db, 'GONE');
    await sql`CREATE SEQUENCE fail_once_seq`.execute(db.db);
    await sql`
      CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('fail_once_seq') = 1 THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$`.execute(db.db);
    await sql
      .raw(`CREATE TRIGGER fail_once BEFORE INSERT ON score_history FOR EACH ROW WHEN (NEW.customer_id = ${goneId}) EXECUTE FUNCTION fail_once()`)
      .execute(db.db);
    try {
      const run = await rescoreViaQueue('full', 40_000);
      expect(run.status).toBe('done');
      expect(run.batches_failed).toBe(0);
      expect(run.customers_scored).toBe(30);
      const hits = await sql<{ n: string }>`SELECT last_value AS n FROM fail_once_seq`.execute(db.db);
      expect(Number(hits.rows[0]!.n)).toBeGreaterThanOrEqual(2); // failed once, then succeeded
      const gone = await scoreOf('GONE');
      expect(String(gone.run_id)).toBe(run.id);
    } finally {
      await sql`DROP TRIGGER fail_once ON score_history`.execute(db.db);
    }
  }, 60_000);

  it('a batch that fails for good counts as finished, so the run closes without it', async () => {
    const prepared = await prepareRun(running.ctx, { mode: 'full' });
    expect(prepared.batches).toBe(3);
    const batches = await batchCustomerIds(db.db, prepared.run.id, 0, 3);
    const goneId = await customerIdOf(db, 'GONE');
    const broken = batches.find((b) => b.ids.includes(goneId))!;
    await sql.raw(`CREATE OR REPLACE FUNCTION always_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'broken row'; END $$`).execute(db.db);
    await sql
      .raw(`CREATE TRIGGER always_fail BEFORE INSERT ON score_history FOR EACH ROW WHEN (NEW.customer_id = ${goneId}) EXECUTE FUNCTION always_fail()`)
      .execute(db.db);
    try {
      for (const b of batches.filter((x) => x !== broken)) await runBatch(running.ctx, { runId: prepared.run.id, batch: b.batch, customerIds: b.ids });
      const lastAttempt = { attemptsMade: 4, opts: { attempts: 5 } } as unknown as Job;
      await expect(
        rescoreHandlers.rescoreBatch!(
          running.ctx,
          { runId: prepared.run.id, batch: broken.batch, customerIds: broken.ids },
          lastAttempt,
          undefined,
          new AbortController().signal,
        ),
      ).rejects.toThrow(/broken row/);
    } finally {
      await sql`DROP TRIGGER always_fail ON score_history`.execute(db.db);
    }
    const run = (await getRun(db.db, prepared.run.id))!;
    expect(run.status).toBe('done');
    expect(run.batches_failed).toBe(1);
    expect(run.batches_done).toBe(3);
    expect(run.customers_scored).toBe(30 - broken.ids.length);
    const marker = await db.db
      .selectFrom('scoring_run_batches')
      .selectAll()
      .where('run_id', '=', run.id)
      .where('batch', '=', broken.batch)
      .executeTakeFirstOrThrow();
    expect(marker.status).toBe('failed');
    expect(marker.error).toMatch(/broken row/);
  });

  it('a re-run of the same rescore job reuses its run instead of opening another', async () => {
    const a = await prepareRun(running.ctx, { mode: 'incremental', jobKey: 'job-42' });
    const b = await prepareRun(running.ctx, { mode: 'incremental', jobKey: 'job-42' });
    expect(b.run.id).toBe(a.run.id);
    expect(b.fresh).toBe(false);
    const runs = await db.db.selectFrom('scoring_runs').select('id').where('job_key', '=', 'job-42').execute();
    expect(runs).toHaveLength(1);
  });
});

describe('stale feeds', () => {
  it('leaves a silent feed out of every score and says so', async () => {
    // The usage feed used to arrive weekly; nothing for the last 25 days.
    await sql`DELETE FROM signals WHERE kind = 'usage' AND occurred_at > ${new Date(now.getTime() - 25 * DAY)}`.execute(db.db);
    const run = await rescoreViaQueue('full');
    const stale = run.context as { stale: { kind: string }[]; excluded: string[] };
    expect(stale.stale.map((s) => s.kind)).toEqual(['usage']);
    expect(stale.excluded).toEqual(['engagement']);
    const thrive = await scoreOf('THRIVE');
    expect(thrive.stale.join(' ')).toMatch(/no usage data for 2\d days \(used to arrive weekly\)/);
    expect(thrive.measures.map((m) => m.key)).not.toContain('engagement');
  });
});

describe('the run watchdog', () => {
  const quiet = (runId: string, minutesAgo: number) =>
    Promise.all([
      sql`UPDATE scoring_runs SET started_at = now() - make_interval(mins => ${minutesAgo}::int),
            context = jsonb_set(context, '{preparedAt}', to_jsonb((now() - make_interval(mins => ${minutesAgo}::int))::text))
          WHERE id = ${runId}`.execute(db.db),
      sql`UPDATE scoring_run_batches SET finished_at = now() - make_interval(mins => ${minutesAgo}::int) WHERE run_id = ${runId}`.execute(db.db),
    ]);

  it('re-adds the batch jobs a stalled run lost; the run then finishes, nothing scored twice', async () => {
    // A prepared full run whose batch jobs never reached Redis; one batch was counted before.
    const prepared = await prepareRun(running.ctx, { mode: 'full' });
    expect(prepared.batches).toBe(3);
    const [first] = await batchCustomerIds(db.db, prepared.run.id, 0, 1);
    await runBatch(running.ctx, { runId: prepared.run.id, batch: 0, customerIds: first!.ids });
    // Recent progress: left alone.
    expect(await watchRuns(running.ctx)).toEqual({ stalled: 0, requeued: 0, abandoned: 0 });

    await quiet(prepared.run.id, 20);
    expect(await watchRuns(running.ctx)).toEqual({ stalled: 1, requeued: 2, abandoned: 0 });
    const done = await until(async () => {
      const r = await getRun(db.db, prepared.run.id);
      return r?.status === 'done' ? r : null;
    });
    expect(done.batches_done).toBe(3);
    expect(done.customers_scored).toBe(30);
    expect(await historyCount(prepared.run.id)).toBe(30);
    expect(await watchRuns(running.ctx)).toEqual({ stalled: 0, requeued: 0, abandoned: 0 });
  });

  it('gives up on a run still open a day after it started', async () => {
    const prepared = await prepareRun(running.ctx, { mode: 'full' });
    await quiet(prepared.run.id, 25 * 60);
    expect(await watchRuns(running.ctx)).toMatchObject({ abandoned: 1 });
    const run = (await getRun(db.db, prepared.run.id))!;
    expect(run.status).toBe('failed');
    const population = await db.db.selectFrom('run_population').select('customer_id').where('run_id', '=', run.id).execute();
    expect(population).toHaveLength(0);
  });
});
