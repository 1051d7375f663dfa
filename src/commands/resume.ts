import type { Candidate } from '../customers/lookup.rules.js';
import { resumeValue } from '../slack/slash.js';
import { commandNaming, type CustomerCommand, type FeedbackCommand } from './command.parser.js';

/**
 * For a "which one?" choice in the middle of a command: each candidate's
 * button finishes the person's command for that customer (null when the
 * command does not name a customer, and the button opens the card instead).
 */
export function resumeWith(command: '/customer' | '/feedback', parsed: CustomerCommand | FeedbackCommand): (c: Candidate) => string | null {
  return (c) => {
    const text = commandNaming(parsed, c.externalId);
    return text === null ? null : resumeValue(command, text);
  };
}
