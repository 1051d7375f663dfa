import type { Logger } from './logger.js';

/**
 * Ordered shutdown with a force-quit timeout (after outline's ShutdownHelper):
 * stop taking work first (HTTP, workers), then close the stores they used.
 */
export class Shutdown {
  private readonly steps: { name: string; order: number; run: () => Promise<unknown> }[] = [];
  private started: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly forceAfterMs = 10_000,
  ) {}

  /** Lower order runs first. Conventional: 10 http, 20 workers, 30 queues, 40 redis, 50 db. */
  add(name: string, order: number, run: () => Promise<unknown>): void {
    this.steps.push({ name, order, run });
  }

  run(reason: string): Promise<void> {
    if (this.started) return this.started;
    this.logger.info({ reason }, 'shutting down');
    const force = setTimeout(() => {
      this.logger.error('shutdown timed out; forcing exit');
      process.exit(1);
    }, this.forceAfterMs);
    force.unref();
    this.started = (async () => {
      const ordered = [...this.steps].sort((a, b) => a.order - b.order);
      for (const step of ordered) {
        try {
          await step.run();
        } catch (error) {
          this.logger.warn({ step: step.name, err: error }, 'shutdown step failed');
        }
      }
      clearTimeout(force);
    })();
    return this.started;
  }

  onSignals(exit = true): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        void this.run(signal).then(() => {
          if (exit) process.exit(0);
        });
      });
    }
  }
}
