import type { Logger } from '../platform/logger.js';

/**
 * Whether Slack's Web API takes our bot token, checked with auth.test at
 * start and then in the background: with backoff while it fails (Slack
 * unreachable, a revoked token), and now and then once it works. retain does
 * not stop for it: ingest and scoring go on, /healthz and the log say what
 * is wrong, and deliveries wait in the outbox until Slack answers again.
 */
export interface SlackHealthState {
  ok: boolean;
  /** Not checked yet: treated as usable (the first check is on its way). */
  checked: boolean;
  /** What is wrong, for the log and /healthz: 'invalid_auth', 'unreachable: connect ECONNREFUSED…'. */
  error?: string;
  /** When the next check is due (epoch ms). */
  nextCheckAt: number;
  botId?: string;
  botUserId?: string;
}

export interface SlackHealth {
  state(): SlackHealthState;
  /** Usable unless a check said otherwise. */
  usable(): boolean;
  /** Check now (a post just failed in a way that may mean the token or Slack is gone); resolves to usable(). */
  verify(): Promise<boolean>;
  start(): void;
  stop(): void;
}

export interface SlackHealthOptions {
  /** First retry after a failure; doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Between checks while all is well. */
  okIntervalMs?: number;
}

/** Errors auth.test answers when the token itself is the problem (retrying will not help until someone fixes it). */
const TOKEN_ERRORS = new Set(['invalid_auth', 'not_authed', 'token_revoked', 'token_expired', 'account_inactive', 'no_permission', 'missing_scope']);

function describe(error: unknown): { error: string; token: boolean } {
  const e = error as { code?: string; data?: { error?: string }; message?: string; original?: { code?: string; message?: string } };
  const platform = e?.data?.error;
  if (platform) return { error: platform, token: TOKEN_ERRORS.has(platform) };
  const cause = e?.original?.code ?? e?.original?.message ?? e?.message ?? String(error);
  return { error: `unreachable: ${cause}`, token: false };
}

export function createSlackHealth(authTest: () => Promise<{ botId?: string; userId?: string }>, logger: Logger, opts: SlackHealthOptions = {}): SlackHealth {
  const minBackoff = opts.minBackoffMs ?? 1_000;
  const maxBackoff = opts.maxBackoffMs ?? 60_000;
  const okInterval = opts.okIntervalMs ?? 5 * 60_000;
  let current: SlackHealthState = { ok: true, checked: false, nextCheckAt: Date.now() };
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<boolean> | undefined;

  const schedule = (delay: number) => {
    clearTimeout(timer);
    if (!running) return;
    current = { ...current, nextCheckAt: Date.now() + delay };
    timer = setTimeout(() => void check(), delay);
    timer.unref();
  };

  const check = (): Promise<boolean> => {
    inFlight ??= (async () => {
      try {
        const res = await authTest();
        if (!current.ok || !current.checked)
          logger.info({ botUserId: res.userId }, failures ? 'Slack answers again: deliveries resume' : 'Slack bot token verified');
        failures = 0;
        current = { ok: true, checked: true, nextCheckAt: 0, ...(res.botId ? { botId: res.botId } : {}), ...(res.userId ? { botUserId: res.userId } : {}) };
        schedule(okInterval);
      } catch (error) {
        const d = describe(error);
        failures++;
        const delay = Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 16));
        const message = d.token
          ? `Slack refused the bot token (${d.error}): check SLACK_BOT_TOKEN and the app's installation; deliveries wait in the outbox`
          : `Slack's Web API cannot be reached (${d.error}); deliveries wait in the outbox`;
        // Said loudly the first time and when it changes, then quietly while it lasts.
        if (current.ok || current.error !== d.error) logger.error({ slack: d.error, retryInMs: delay }, message);
        else logger.debug({ slack: d.error, retryInMs: delay }, message);
        current = { ...current, ok: false, checked: true, error: d.error };
        schedule(delay);
      } finally {
        inFlight = undefined;
      }
      return current.ok;
    })();
    return inFlight;
  };

  return {
    state: () => current,
    usable: () => current.ok,
    verify: () => check(),
    start() {
      if (running) return;
      running = true;
      void check();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
  };
}
