import { randomBytes } from 'node:crypto';
import { AppError, isBusy, isUnavailable } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Reply } from './blocks.js';
import { plainReply } from './blocks.js';
import { escapeMrkdwn } from './escape.js';
import { busyReply, failureReply, unavailableReply } from './replies.js';

/**
 * Run a handler and always come back with a reply a person can act on:
 * overloaded or out of time → "busy, try again in a few seconds"; a
 * dependency outage → "try again shortly"; a known AppError → its message;
 * anything else → a short apology with a reference that is in the logs.
 * Never a stack trace, never silence.
 */
export async function guarded(logger: Logger, what: string, run: () => Promise<Reply>): Promise<Reply> {
  try {
    return await run();
  } catch (error) {
    if (isBusy(error)) {
      logger.warn({ what, code: (error as { code?: string }).code }, 'too busy to handle a request in time');
      return busyReply();
    }
    if (isUnavailable(error)) {
      logger.warn({ what, code: (error as { code?: string }).code }, 'dependency unavailable while handling a request');
      return unavailableReply();
    }
    if (error instanceof AppError && error.code.startsWith('USER_')) return plainReply(escapeMrkdwn(error.message));
    const ref = randomBytes(4).toString('hex');
    logger.error({ what, ref, err: { message: (error as Error)?.message, stack: (error as Error)?.stack } }, 'handler failed');
    return failureReply(ref);
  }
}
