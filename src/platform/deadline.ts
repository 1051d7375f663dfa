import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A deadline carried by everything a request does (async context), so the
 * database layer can bound each query by what is left of it: a person in
 * Slack gets an answer in time even when Postgres hangs. Work outside a
 * request (jobs, the CLI) has no deadline.
 */
const store = new AsyncLocalStorage<{ at: number }>();

/** Run `work` with a deadline `ms` from now; inside an earlier deadline, the earlier one stays. */
export function withDeadline<T>(ms: number, work: () => T, now: number = Date.now()): T {
  const current = store.getStore();
  const at = now + ms;
  return store.run({ at: current ? Math.min(current.at, at) : at }, work);
}

/** Milliseconds left before the current deadline (never negative); undefined outside one. */
export function remainingMs(now: number = Date.now()): number | undefined {
  const current = store.getStore();
  return current ? Math.max(0, current.at - now) : undefined;
}
