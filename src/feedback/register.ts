import { addListeners } from '../slack/app.js';
import { registerSubcommands } from '../slack/customer.command.js';
import { registerSlash } from '../slack/slash.registry.js';
import { COMMANDS } from '../slack/ids.js';
import { logCommand, handleFeedbackCommand } from './feedback.command.js';
import { registerFeedbackListeners } from './feedback.listeners.js';

/** Feedback and touches (issue 5): /feedback, /customer log, the "Log as customer feedback" shortcut. */
registerSubcommands({ log: logCommand });
registerSlash(COMMANDS.feedback, handleFeedbackCommand);
addListeners(registerFeedbackListeners);
