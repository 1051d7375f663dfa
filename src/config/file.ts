import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, formatIssues } from './env.js';
import { SIGNAL_KINDS } from '../ingest/signal.table.js';

/**
 * The optional JSON file named by RETAIN_CONFIG: weights, thresholds and
 * schedules. Every key has a default, so an empty file (or none) is valid.
 */
const weight = z.number().min(0, 'must be ≥ 0').max(1, 'must be ≤ 1');
const cron = z
  .string()
  .trim()
  .regex(/^(\S+\s+){4}\S+$/, 'must be a 5-field cron pattern, e.g. "0 * * * *"');
const days = z.number().int('must be a whole number of days').positive('must be > 0');

export const weightsSchema = z
  .object({
    engagement: weight.default(0.25),
    purchase: weight.default(0.2),
    complaints: weight.default(0.15),
    sentiment: weight.default(0.1),
    cadence: weight.default(0.15),
    payments: weight.default(0.1),
    nps: weight.default(0.05),
  })
  .strict()
  .refine((w) => Object.values(w).some((v) => v > 0), 'at least one weight must be > 0');

// Ingest API (POST /api/v1/*): limits, backpressure and the Segment mapping.
const messagePath = z
  .string()
  .trim()
  .regex(/^[A-Za-z_$][\w$-]*(\.[\w$ -]+)*$/, 'must be a dotted path into the message, e.g. "properties.revenue"');
const segmentMatchRule = z.object({ path: messagePath, as: z.enum(['external_id', 'domain', 'email_domain', 'segment_user']) }).strict();
export const ingestSchema = z
  .object({
    /** Ingest requests handled at once per web process; more get 503 + Retry-After. */
    maxInFlight: z.number().int().min(1).max(1_000).default(8),
    maxItems: z.number().int().min(1).max(100_000).default(10_000),
    maxBodyBytes: z.number().int().min(1_024).max(268_435_456).default(8_388_608),
    retryAfterSeconds: z.number().int().min(1).max(3_600).default(1),
    statementTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
    segment: z
      .object({
        /** Segment event name → signal kind and where its value is; "*" matches any other event. */
        events: z
          .record(z.string().min(1), z.object({ kind: z.enum(SIGNAL_KINDS), value: messagePath.optional() }).strict())
          .default({ 'Order Completed': { kind: 'order', value: 'properties.revenue' }, '*': { kind: 'usage' } }),
        /** How a message finds its customer: the first rule that matches exactly one customer wins. */
        match: z
          .array(segmentMatchRule)
          .min(1)
          .default([
            { path: 'context.groupId', as: 'external_id' },
            { path: 'groupId', as: 'external_id' },
            { path: 'traits.external_id', as: 'external_id' },
            { path: 'context.traits.external_id', as: 'external_id' },
            { path: 'traits.domain', as: 'domain' },
            { path: 'context.traits.domain', as: 'domain' },
            { path: 'traits.email', as: 'email_domain' },
            { path: 'context.traits.email', as: 'email_domain' },
            { path: 'userId', as: 'segment_user' },
          ]),
        /** Customer field → trait paths of a `group` call (first non-empty wins). */
        groupTraits: z
          .object({
            name: z.array(messagePath).default(['name']),
            domain: z.array(messagePath).default(['domain', 'website']),
            plan: z.array(messagePath).default(['plan']),
            arr: z.array(messagePath).default(['arr']),
            currency: z.array(messagePath).default(['currency']),
            renewal_date: z.array(messagePath).default(['renewal_date']),
            owner_slack_id: z.array(messagePath).default(['owner_slack_id']),
            team: z.array(messagePath).default(['team']),
          })
          .strict()
          .prefault({}),
        /** Mail providers whose domain says nothing about the customer. */
        ignoreEmailDomains: z
          .array(z.string().trim().toLowerCase())
          .default([
            'gmail.com',
            'googlemail.com',
            'yahoo.com',
            'hotmail.com',
            'outlook.com',
            'live.com',
            'icloud.com',
            'me.com',
            'aol.com',
            'proton.me',
            'protonmail.com',
            'qq.com',
            '163.com',
            '126.com',
            'gmx.de',
            'web.de',
          ]),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const fileConfigSchema = z
  .object({
    scoring: z
      .object({
        weights: weightsSchema.prefault({}),
        bands: z
          .object({ green: z.number().min(1).max(100).default(70), red: z.number().min(0).max(99).default(40) })
          .strict()
          .refine((b) => b.red < b.green, 'red threshold must be below green threshold')
          .prefault({}),
        cadenceDays: z
          .object({ A: days.default(30), B: days.default(90), C: days.default(180) })
          .strict()
          .prefault({}),
        tierShares: z
          .object({ A: z.number().gt(0).lt(1).default(0.8), B: z.number().gt(0).lt(1).default(0.95) })
          .strict()
          .refine((t) => t.A < t.B, 'tier A share must be below tier B cumulative share')
          .prefault({}),
        staleAfterDays: days.default(3),
        clv: z
          .object({ horizonMonths: days.default(12), annualDiscountRate: z.number().min(0).max(1).default(0.1) })
          .strict()
          .prefault({}),
        batchSize: z.number().int().min(10).max(50_000).default(2_000),
        /** The health model `retain fit` learns from the book's history (see scores/health-fit.service.ts). */
        churnModel: z
          .object({
            horizonDays: days.max(730).default(90),
            origins: z.number().int().min(2).max(12).default(4),
            churn: z.enum(['auto', 'status', 'lapse']).default('auto'),
            targetPrecision: z.number().gt(0).max(1).default(0.5),
            l2: z.number().min(0).max(10).default(0.001),
            sampleCustomers: z.number().int().min(1_000).max(2_000_000).default(100_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    alerts: z
      .object({
        dropPoints: z.number().positive().default(15),
        dropWindowDays: days.default(14),
        pAliveBelow: z.number().gt(0).lt(1).default(0.3),
        recoverMargin: z.number().min(0).default(5),
        snoozeDays: days.default(7),
      })
      .strict()
      .prefault({}),
    renewals: z
      .object({
        reminderDays: z.array(days).min(1).default([90, 60, 30, 14, 7, 1]),
        freezeDays: z.number().int().min(0).default(30),
        /** The renewal model: discount rate per contract year (DERL), interval of the forecast, weight of the health model's churn chance. */
        discountRate: z.number().gt(0).max(1).default(0.1),
        forecastLevel: z.number().gt(0).lt(1).default(0.8),
        healthWeight: z.number().min(0).max(1).default(0.5),
        /** What the nightly fit segments by, and which model it fits (`retain renewals fit` defaults). */
        segmentBy: z.enum(['plan', 'tier', 'none']).default('plan'),
        model: z.enum(['sbg', 'bdw']).default('sbg'),
      })
      .strict()
      .prefault({}),
    disputes: z
      .object({ escalateAfterDays: days.default(3) })
      .strict()
      .prefault({}),
    digest: z
      .object({
        defaultHour: z.number().int().min(0).max(23).default(9),
        sectionCap: z.number().int().min(1).max(20).default(5),
      })
      .strict()
      .prefault({}),
    schedules: z
      .object({
        timezone: z.string().default('UTC'),
        rescoreIncremental: cron.default('0 * * * *'),
        rescoreFull: cron.default('30 2 * * *'),
        fit: cron.default('0 2 * * *'),
        renewalScan: cron.default('15 * * * *'),
        /**
         * A change in data (import, ingest API, Segment, Stripe, feedback, a
         * logged touch, a renewal decided) is rescored — and renewal dates
         * rescanned — this long after it arrives; changes within the window
         * share the run. The cron patterns above are the safety net.
         */
        debounceMs: z.number().int().min(100, 'must be ≥ 100 ms').max(600_000, 'must be ≤ 600000 ms (10 minutes)').default(5_000),
      })
      .strict()
      .prefault({}),
    pacing: z
      .object({
        perChannelMs: z.number().int().min(0).default(1_000),
        globalPerSecond: z.number().int().min(1).default(40),
        /** Added to perChannelMs: slack for clock skew between worker hosts. */
        marginMs: z.number().int().min(0).max(1_000).default(10),
        /** Deliveries in flight per worker process (each mostly waits on Slack). */
        deliveryConcurrency: z.number().int().min(1).max(1_000).default(32),
      })
      .strict()
      .prefault({}),
    ingest: ingestSchema.prefault({}),
    /**
     * Slash commands one web process handles at once, how long a command may
     * wait for its turn, and how many may wait; beyond that the person is told
     * "retain is busy — try again in a few seconds" (nothing changed) instead
     * of every command queueing past Slack's 3 seconds.
     */
    slash: z
      .object({
        maxConcurrent: z.number().int().min(1).max(200).default(8),
        maxWaitMs: z.number().int().min(0).max(2_500, 'must be ≤ 2500 ms: a reply must reach Slack within 3 seconds').default(1_000),
        maxQueued: z.number().int().min(0).max(10_000).default(64),
      })
      .strict()
      .prefault({}),
    recovery: z
      .object({
        /** How often a worker checks that Redis still holds retain's queues (and restores them from Postgres when not). */
        redisCheckMs: z.number().int().min(100).max(600_000).default(15_000),
        /**
         * How long a scoring or scan job stays locked to a worker that died
         * (SIGKILL, a lost host) before another worker takes it over. A live
         * worker renews the lock every half of it, so a batch's CPU-bound
         * stretch must stay well below; deliveries have a short lock of their own.
         */
        jobLockMs: z.number().int().min(1_000).max(600_000).default(120_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type FileConfig = z.infer<typeof fileConfigSchema>;

export function parseFileConfig(raw: unknown, source = 'RETAIN_CONFIG'): FileConfig {
  const parsed = fileConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues, `invalid ${source} setting `));
  return parsed.data;
}

export function readFileConfig(path: string | undefined): FileConfig {
  if (!path) return parseFileConfig({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError([`invalid environment variable RETAIN_CONFIG: cannot read file ${path}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([`invalid environment variable RETAIN_CONFIG: ${path} is not valid JSON (${(e as Error).message})`]);
  }
  return parseFileConfig(json, `RETAIN_CONFIG (${path})`);
}
