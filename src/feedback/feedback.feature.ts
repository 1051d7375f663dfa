import type { Feature } from '../feature.js';
import { COMMANDS } from '../slack/ids.js';
import { handleFeedbackCommand, logCommand } from './feedback.command.js';
import { registerFeedbackListeners } from './feedback.listeners.js';

/** Feedback and touches: /feedback, /customer log, and the "Log as customer feedback" message shortcut. */
export const feedbackFeature: Feature = {
  name: 'feedback',
  slash: { [COMMANDS.feedback]: handleFeedbackCommand },
  subcommands: { log: logCommand },
  listeners: [registerFeedbackListeners],
};
