import { z } from 'zod';

/**
 * The only reader of process.env: config is read once, here. Every variable
 * retain understands goes through this schema; a bad value is reported as one line
 * naming the variable, all bad variables at once.
 */
const optionalSecret = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

const urlWithProtocol = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

export const envSchema = z.object({
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/retain'),
  DATABASE_REPLICA_URL: urlWithProtocol(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  PORT: z.coerce
    .number({ message: 'must be a port number (1–65535)' })
    .int('must be a whole number')
    .min(0, 'must be 0–65535')
    .max(65535, 'must be 0–65535')
    .default(3000),
  /**
   * A `retain worker` (no web role) serves GET /metrics and /healthz on this
   * port, so each worker's own counters (batches, customers scored,
   * deliveries) can be scraped; unset: the worker listens on nothing.
   */
  METRICS_PORT: z.coerce
    .number({ message: 'must be a port number (1–65535)' })
    .int('must be a whole number')
    .min(0, 'must be 0–65535')
    .max(65535, 'must be 0–65535')
    .optional(),
  SLACK_BOT_TOKEN: optionalSecret.refine((v) => v === undefined || /^xox[bp]-/.test(v), 'must start with xoxb- (a bot token)'),
  SLACK_SIGNING_SECRET: optionalSecret,
  SLACK_APP_TOKEN: optionalSecret.refine((v) => v === undefined || v.startsWith('xapp-'), 'must start with xapp- (an app-level token)'),
  SLACK_API_URL: urlWithProtocol(['http:', 'https:'])
    .transform((v) => (v.endsWith('/') ? v : `${v}/`))
    .optional(),
  API_TOKEN: optionalSecret.refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters'),
  STRIPE_WEBHOOK_SECRET: optionalSecret,
  RETAIN_CONFIG: z.string().trim().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Prefix of every BullMQ key; tests give each file its own. */
  RETAIN_QUEUE_PREFIX: z
    .string()
    .trim()
    .min(1)
    .regex(/^[A-Za-z0-9_{}-]+$/, 'letters, digits, _ - { } only')
    .default('retain'),
});

export type Env = z.infer<typeof envSchema>;

export type SlackMode =
  | { kind: 'socket'; botToken: string; appToken: string; signingSecret?: string }
  | { kind: 'http'; botToken: string; signingSecret: string }
  | { kind: 'console' };

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** One line per problem: `VARIABLE: what is wrong`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${prefix}${path || '(root)'}: ${issue.message}`;
  });
}

export function parseEnv(source: Record<string, string | undefined>): Env {
  // Empty strings mean "unset" for every variable: shells and .env files produce them.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = source[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues, 'invalid environment variable '));
  return parsed.data;
}

export function slackModeOf(env: Env): SlackMode {
  const { SLACK_BOT_TOKEN: botToken, SLACK_APP_TOKEN: appToken, SLACK_SIGNING_SECRET: signingSecret } = env;
  if (botToken && appToken) return { kind: 'socket', botToken, appToken, ...(signingSecret ? { signingSecret } : {}) };
  if (botToken && signingSecret) return { kind: 'http', botToken, signingSecret };
  if (!botToken && !appToken && !signingSecret) return { kind: 'console' };
  const missing = !botToken ? 'SLACK_BOT_TOKEN' : 'SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)';
  throw new ConfigError([`invalid environment variable ${missing}: required when other Slack credentials are set (set all of them, or none for console mode)`]);
}
