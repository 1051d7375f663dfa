import type { Logger } from './logger.js';

let installed = false;

/**
 * Last line of defence for a long-running role: an error that escaped every
 * handler (a library's promise nobody awaited, a throw in a timer) is
 * logged, and the process keeps serving. Taking web and worker down for one
 * bad request or one failed background call costs more than it protects.
 * Installed once per process, by the roles only (not by tests or the CLI).
 */
export function installProcessGuards(logger: Logger): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    logger.error(
      { err: { message: (reason as Error)?.message ?? String(reason), stack: (reason as Error)?.stack } },
      'unhandled promise rejection; still serving',
    );
  });
  process.on('uncaughtException', (error) => {
    logger.error({ err: { message: error?.message, stack: error?.stack } }, 'uncaught exception; still serving');
  });
}
