import { UsageError } from '../cli/args.js';
import type { CliCommand } from '../cli/command.js';
import { formatImportReport, importCustomers, importEvents } from './import.service.js';

/** `retain import customers|events FILE.csv`: bulk loads from CSV. Exit 3 when rows were rejected (good rows still load). */
export const ingestCli: CliCommand[] = [
  {
    path: ['import', 'customers'],
    usage: 'retain import customers FILE.csv',
    summary: 'load customers (idempotent; bad rows reported by line)',
    help: 'Columns: external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team. Only external_id and name are required; an empty cell means unknown and never erases a known value.',
    async run(args, io, config, withContext) {
      const file = args.positionals[0];
      if (!file) throw new UsageError('FILE is required');
      return withContext(config, {}, async ({ dbHandle }) => {
        const report = await importCustomers(dbHandle.db, file);
        io.out(formatImportReport('customers', report));
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
      return withContext(config, {}, async ({ dbHandle }) => {
        const report = await importEvents(dbHandle.pool, file);
        io.out(formatImportReport('events', report));
        return report.problems.length ? 3 : 0;
      });
    },
  },
];
