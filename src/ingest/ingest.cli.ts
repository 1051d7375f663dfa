import { UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { followUpDetached, type DataChange } from '../jobs/follow-ups.js';
import type { Built } from '../cli/command.js';
import { formatImportReport, importCustomers, importEvents, type ImportReport } from './import.service.js';

/** After an import that changed something: ask for the debounced rescore (and renewal scan), and say what happens next. */
async function followUpImport(built: Built, report: ImportReport, change: DataChange): Promise<string | null> {
  if (report.inserted + report.updated === 0) return null;
  const outcome = await followUpDetached(built.ctx.config, built.ctx.logger, change);
  return outcome === 'queued'
    ? 'rescore queued: scores and warnings follow within seconds of a worker taking it (retain start, or retain worker)'
    : 'the job queue (Redis) cannot be reached: scores will update when a worker runs — it scores unscored changes when it starts';
}

/** `retain import customers|events FILE.csv`: bulk loads from CSV. Exit 3 when rows were rejected (good rows still load). */
export const ingestCli: CliCommand[] = [
  {
    path: ['import', 'customers'],
    usage: 'retain import customers FILE.csv',
    summary: 'load customers (idempotent; bad rows reported by line)',
    help: 'Columns: external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team, and optionally started_at,churned_at (a churn date marks the customer churned). Only external_id and name are required; an empty cell means unknown and never erases a known value.',
    async run(args, io, config, withContext) {
      const file = args.positionals[0];
      if (!file) throw new UsageError('FILE is required');
      return withContext(config, {}, async (built) => {
        const report = await importCustomers(built.dbHandle.db, file);
        io.out(formatImportReport('customers', report));
        const next = await followUpImport(built, report, { renewals: true });
        if (next) io.out(next);
        return report.problems.length ? 3 : 0;
      });
    },
  },
  {
    path: ['import', 'events'],
    usage: 'retain import events FILE.csv',
    summary: 'load signals (idempotent; bad rows reported by line)',
    help: 'Columns: customer_external_id,kind,occurred_at,value,external_id. kind is one of order, usage, ticket, complaint, payment_failed, nps.',
    async run(args, io, config, withContext) {
      const file = args.positionals[0];
      if (!file) throw new UsageError('FILE is required');
      return withContext(config, {}, async (built) => {
        const report = await importEvents(built.dbHandle.pool, file);
        io.out(formatImportReport('events', report));
        const next = await followUpImport(built, report, {});
        if (next) io.out(next);
        return report.problems.length ? 3 : 0;
      });
    },
  },
];
