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

/** `host:port`, or `[v6-address]:port`. */
const NODE_PATTERN = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

export interface RedisNode {
  host: string;
  port: number;
}

/** Comma-separated seed nodes of a Redis Cluster; any reachable one tells the client the rest of the topology. */
const clusterNodes = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const nodes: RedisNode[] = [];
    for (const part of v.split(',').map((p) => p.trim())) {
      const m = NODE_PATTERN.exec(part);
      const port = Number(m?.[3]);
      if (!m || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: `must be comma-separated host:port seed nodes (e.g. 10.0.0.1:7000,10.0.0.2:7000); got "${part}"` });
        return z.NEVER;
      }
      nodes.push({ host: m[1] ?? m[2]!, port });
    }
    return nodes;
  });

export const envSchema = z.object({
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/retain'),
  DATABASE_REPLICA_URL: urlWithProtocol(['postgres:', 'postgresql:']).optional(),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** When set, every Redis client is a Cluster client seeded from these nodes (REDIS_URL is then unused). */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
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
  const env = parsed.data;
  // A Redis Cluster runs a script only when all its keys share a slot, and
  // BullMQ's scripts touch many keys of a queue: every key retain makes starts
  // with the prefix, so a hash tag in it puts them all in one slot.
  if (env.REDIS_CLUSTER_NODES && !hashTagOf(env.RETAIN_QUEUE_PREFIX)) return { ...env, RETAIN_QUEUE_PREFIX: `{${env.RETAIN_QUEUE_PREFIX}}` };
  return env;
}

/** The part of a key Redis Cluster hashes: the text between the first `{` and the next `}`, when not empty. */
export function hashTagOf(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

export function slackModeOf(env: Env): SlackMode {
  const { SLACK_BOT_TOKEN: botToken, SLACK_APP_TOKEN: appToken, SLACK_SIGNING_SECRET: signingSecret } = env;
  if (botToken && appToken) return { kind: 'socket', botToken, appToken, ...(signingSecret ? { signingSecret } : {}) };
  if (botToken && signingSecret) return { kind: 'http', botToken, signingSecret };
  if (!botToken && !appToken && !signingSecret) return { kind: 'console' };
  const missing = !botToken ? 'SLACK_BOT_TOKEN' : 'SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)';
  throw new ConfigError([`invalid environment variable ${missing}: required when other Slack credentials are set (set all of them, or none for console mode)`]);
}
