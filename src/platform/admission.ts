import { BusyError } from './errors.js';

/**
 * How much work one process takes on at once. Up to `maxConcurrent` run; the
 * next ones wait their turn, each at most `maxWaitMs`; beyond that — or when
 * `maxQueued` are already waiting — the work is refused at once with a
 * BusyError, so a person hears "busy, try again" in time instead of every
 * request queueing until all of them miss Slack's 3 seconds. Keep
 * `maxConcurrent` at or below the pool's connections, so admitted work never
 * waits for a connection.
 */
export interface AdmissionLimits {
  maxConcurrent: number;
  maxWaitMs: number;
  maxQueued: number;
}

export interface AdmissionEvents {
  /** A request was refused: the bound was full and the wait ran out (or the queue was full). */
  shed?(): void;
  /** How long an admitted request waited for its turn. */
  waited?(ms: number): void;
}

export class Admission {
  private running = 0;
  private readonly waiting: { admit: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly events: AdmissionEvents = {},
  ) {}

  get inFlight(): number {
    return this.running;
  }

  /** One more arrival would be refused at once: every turn is taken and the queue is full. */
  get full(): boolean {
    return this.running >= this.limits.maxConcurrent && this.waiting.length >= this.limits.maxQueued;
  }

  async run<T>(work: () => Promise<T>, now: () => number = Date.now): Promise<T> {
    const started = now();
    await this.enter();
    this.events.waited?.(now() - started);
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  private enter(): Promise<void> {
    if (this.running < this.limits.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.maxQueued) {
      this.events.shed?.();
      return Promise.reject(new BusyError('too many requests are waiting'));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        admit: () => {
          clearTimeout(entry.timer);
          this.running++;
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          this.events.shed?.();
          reject(new BusyError('waited too long for a turn'));
        }, this.limits.maxWaitMs),
      };
      this.waiting.push(entry);
    });
  }

  private leave(): void {
    this.running--;
    this.waiting.shift()?.admit();
  }
}
