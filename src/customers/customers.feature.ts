import type { Feature } from '../feature.js';
import { registerCustomerListeners } from './customer.listeners.js';
import { lookupCommand } from './lookup.command.js';
import { rosterCli } from './roster.cli.js';

/** Customers: `/customer <query>` lookups and the card's buttons; teams and members (CLI). */
export const customersFeature: Feature = {
  name: 'customers',
  subcommands: { lookup: lookupCommand },
  listeners: [registerCustomerListeners],
  cli: rosterCli,
};
