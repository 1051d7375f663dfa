import type { Feature } from '../feature.js';
import { COMMANDS } from '../slack/ids.js';
import { handleCustomerCommand } from './customer.router.js';

/** `/customer`: the router; each verb is a subcommand contributed by the feature that owns it. */
export const commandsFeature: Feature = {
  name: 'commands',
  slash: { [COMMANDS.customer]: handleCustomerCommand },
};
