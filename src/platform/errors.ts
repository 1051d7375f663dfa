/** Errors carry a stable code (for logs and tests) and a message a person can act on. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/**
 * Work refused or cut short because retain is overloaded or out of time
 * (no pooled connection in time, a request's deadline spent, a bound on
 * concurrent work reached): "try again in a few seconds", not an outage.
 */
export class BusyError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('BUSY', message, cause);
    this.name = 'BusyError';
  }
}

/** Cannot reach the dependency at all: refused, reset, unknown host, failed authentication, shutting down. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '28000',
  '28P01',
]);
const UNREACHABLE_MESSAGE = /Connection terminated|connect ECONNREFUSED|Connection is closed|Stream isn't writeable|Cannot use a pool after calling end/i;

/**
 * Reachable but too slow or too full: statement timeout or cancel (57014),
 * too many connections (53300), lock not available (55P03), serialization
 * failure or deadlock (40001, 40P01).
 */
const BUSY_CODES = new Set(['57014', '53300', '55P03', '40001', '40P01']);
/** pg-pool's wait for a free client, and pg's client-side query timeout. */
const BUSY_MESSAGE = /timeout exceeded when trying to connect|Query read timeout/i;

function walk(error: unknown, test: (e: { code?: unknown; message?: unknown }) => boolean, seen = new Set<unknown>()): boolean {
  if (!error || typeof error !== 'object' || seen.has(error)) return false;
  seen.add(error);
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (test(e)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => walk(x, test, seen))) return true;
  return e.cause !== undefined && walk(e.cause, test, seen);
}

/** True when an error means "a dependency is down or unreachable" rather than a bug — never for a busy one. */
export function isUnavailable(error: unknown): boolean {
  if (isBusy(error)) return false;
  return walk(
    error,
    (e) => (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) || (typeof e.message === 'string' && UNREACHABLE_MESSAGE.test(e.message)),
  );
}

/** True when the dependency answered (or would) but retain is overloaded or out of time: try again in a few seconds. */
export function isBusy(error: unknown): boolean {
  return walk(
    error,
    (e) =>
      e instanceof BusyError ||
      (e instanceof AppError && e.code === 'BUSY') ||
      (typeof e.code === 'string' && BUSY_CODES.has(e.code)) ||
      (typeof e.message === 'string' && BUSY_MESSAGE.test(e.message)),
  );
}
