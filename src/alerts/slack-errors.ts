/** How a failed Slack call should be treated by the delivery job. Pure. */
export type SlackErrorVerdict =
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'permanent'; reason: string }
  | { kind: 'transient'; reason: string }
  /** The request never left (connection refused, unknown host): certainly not posted, and Slack itself is away. */
  | { kind: 'unreachable'; reason: string };

/**
 * Permanent errors that may be about the bot token rather than the message:
 * before failing a row for good on one, the delivery asks auth.test whether
 * the token still works — if not, the rows wait for it instead.
 */
export const TOKEN_SLACK_ERRORS = new Set(['invalid_auth', 'token_revoked', 'not_authed', 'account_inactive', 'token_expired']);

/** Network errors that mean the request was never sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Errors no retry will fix: the row is marked failed with the reason. */
export const PERMANENT_SLACK_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'account_inactive',
  'invalid_auth',
  'token_revoked',
  'not_authed',
  'user_not_found',
  'cannot_dm_bot',
  'invalid_blocks',
  'msg_too_long',
  'no_text',
  'restricted_action',
  'missing_scope',
  // chat.update of an earlier message
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
]);

export function classifySlackError(error: unknown): SlackErrorVerdict {
  const e = error as {
    code?: string;
    retryAfter?: number;
    data?: { error?: string };
    statusCode?: number;
    message?: string;
    causeCode?: string;
    original?: { code?: string };
  };
  const network = e?.causeCode ?? e?.original?.code;
  if (e?.code === 'slack_webapi_request_error' && network && NOT_SENT_CODES.has(network)) return { kind: 'unreachable', reason: network };
  if (e?.code === 'slack_webapi_rate_limited_error') return { kind: 'rate_limited', retryAfterMs: Math.max(1, e.retryAfter ?? 1) * 1000 };
  const platform = e?.data?.error;
  if (e?.code === 'slack_webapi_platform_error' && platform) {
    if (platform === 'ratelimited') return { kind: 'rate_limited', retryAfterMs: 1000 };
    if (PERMANENT_SLACK_ERRORS.has(platform)) return { kind: 'permanent', reason: platform };
    return { kind: 'transient', reason: platform };
  }
  if (e?.code === 'slack_webapi_http_error') return { kind: 'transient', reason: `http ${e.statusCode ?? '?'}` };
  return { kind: 'transient', reason: e?.code ?? e?.message ?? 'unknown error' };
}
