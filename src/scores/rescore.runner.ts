import type { AppContext } from '../platform/context.js';
import { bgParams } from './fit.service.js';
import { failBatch, runBatch } from './rescore.batch.service.js';
import { runBatches } from './rescore.fanout.service.js';
import { prepareRun, type RunContext } from './rescore.prepare.service.js';
import { getRun, type RunRow } from './run.repository.js';
import { runSummary, type RunSummary } from './score.repository.js';
import { pAliveInformative } from './score.rules.js';
import { scoringConfigFrom } from './scoring.config.js';

export interface RescoreResult {
  run: RunRow;
  summary: RunSummary;
  ms: number;
}

/**
 * One run now, in this process, through the same batch code the workers use
 * (`retain rescore`). Batches run `concurrency` at a time. The scoring config
 * is parsed once, here, for the preparation and every batch.
 */
export async function rescoreNow(ctx: AppContext, opts: { mode: 'full' | 'incremental'; asOf?: Date; concurrency?: number }): Promise<RescoreResult> {
  const started = performance.now();
  const settings = scoringConfigFrom(ctx.config.settings);
  const prepared = await prepareRun(ctx, { mode: opts.mode, ...(opts.asOf ? { asOf: opts.asOf } : {}) }, settings);
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  for await (const rows of runBatches(ctx.db, prepared.run)) {
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const r = rows[next++]!;
        const input = { runId: prepared.run.id, batch: r.batch, customerIds: r.ids };
        try {
          await runBatch(ctx, input, settings);
        } catch (_e) {
          // One retry in-process, then the batch counts as failed and the run goes on.
          try {
            await runBatch(ctx, input, settings);
          } catch (again) {
            await failBatch(ctx, input, (again as Error).message ?? String(again));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  }
  const run = (await getRun(ctx.db, prepared.run.id))!;
  return { run, summary: await runSummary(ctx.db, run.id), ms: performance.now() - started };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function formatRescoreSummary(r: RescoreResult): string[] {
  const { run, summary } = r;
  const secs = (r.ms / 1000).toFixed(1);
  const lines = [
    `${run.kind} run ${run.id} ${run.status}: ${plural(run.customers_scored, 'customer')} scored in ${secs}s ` +
      `(${plural(run.batches_total, 'batch', 'batches')}${run.batches_failed ? `, ${run.batches_failed} failed` : ''})`,
    `bands: green ${summary.bands.green}, yellow ${summary.bands.yellow}, red ${summary.bands.red}`,
    `changed band: ${summary.changedBand}${summary.firstScored ? ` (first score for ${summary.firstScored})` : ''}`,
  ];
  const context = run.context as unknown as Partial<RunContext>;
  if (context.stale?.length) lines.push(`stale feeds (left out of every score): ${context.stale.map((s) => s.text).join('; ')}`);
  if (!context.models?.bgnbd) lines.push('no purchase model yet (no orders): P(alive) and CLV are left out');
  else if (!pAliveInformative(bgParams(context.models.bgnbd.params as unknown as Record<string, number>))) {
    lines.push('the purchase model sees no dropout in this book (very regular ordering): P(alive) is left out of the scores');
  }
  return lines;
}
