import { addSchedules } from '../main.js';
import { addListeners } from '../slack/app.js';
import { registerSubcommands } from '../slack/customer.command.js';
import { registerDisputeActions } from './ownership.action.js';
import { assignCommand, claimCommand, historyCommand, mineCommand, releaseCommand } from './ownership.command.js';

/** Ownership (issue 5): /customer claim|assign|release|history|mine, dispute buttons, dispute escalation scan. */
registerSubcommands({ claim: claimCommand, assign: assignCommand, release: releaseCommand, history: historyCommand, mine: mineCommand });
addListeners(registerDisputeActions);
addSchedules((ctx) => [
  { id: 'disputes-escalate', job: 'expireDisputes', pattern: '*/15 * * * *', tz: ctx.config.settings.schedules.timezone, data: {} },
]);
