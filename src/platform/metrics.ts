/**
 * A small Prometheus registry (text exposition format 0.0.4): counters,
 * gauges and histograms with labels. Process-local; each web or worker
 * process exposes its own, as Prometheus expects.
 */
type Labels = Record<string, string | number>;

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',');
}

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

export class Counter implements Metric {
  readonly type = 'counter' as const;
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string[] {
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge' as const;
  private readonly values = new Map<string, number>();
  /** Optional collector run at scrape time (e.g. queue depths). */
  collect?: () => Promise<void>;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(labels: Labels, value: number): void {
    this.values.set(key(labels), value);
  }
  get(labels: Labels = {}): number | undefined {
    return this.values.get(key(labels));
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram' as const;
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {}
  observe(labels: Labels, value: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  /** Time an async function in seconds. */
  async time<T>(labels: Labels, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      this.observe(labels, (performance.now() - started) / 1000);
    }
  }
  render(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(m: M): M {
    const existing = this.metrics.find((x) => x.name === m.name);
    if (existing) return existing as M;
    this.metrics.push(m);
    return m;
  }
  counter(name: string, help: string): Counter {
    return this.register(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.register(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets?: number[]): Histogram {
    return this.register(new Histogram(name, help, buckets));
  }
  async render(): Promise<string> {
    const lines: string[] = [];
    for (const m of this.metrics) {
      if (m instanceof Gauge && m.collect) await m.collect().catch(() => undefined);
      lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.render());
    }
    return `${lines.join('\n')}\n`;
  }
}

/** The process registry and the metrics every feature shares. */
export const registry = new Registry();
export const metrics = {
  slashLatency: registry.histogram('retain_slash_command_seconds', 'Time to handle a slash command, by command and outcome'),
  slashShed: registry.counter('retain_slash_shed_total', 'Slash commands answered "busy" because the process was at its bound, by command'),
  slashQueueWait: registry.histogram(
    'retain_slash_queue_wait_seconds',
    'Time a slash command waited for its turn',
    [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  ),
  lookupLatency: registry.histogram(
    'retain_lookup_seconds',
    'Time to resolve a customer query, by how it matched',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  ),
  signalsIngested: registry.counter('retain_signals_ingested_total', 'Signals stored, by kind and source'),
  itemsRejected: registry.counter('retain_ingest_rejected_total', 'Ingest items rejected, by endpoint and reason'),
  rescoreDuration: registry.histogram('retain_rescore_seconds', 'Duration of a rescore batch or run', [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600]),
  customersScored: registry.counter('retain_customers_scored_total', 'Customers scored, by run kind'),
  jobsFinished: registry.counter('retain_jobs_total', 'Jobs this worker process finished, by queue, job name and outcome (completed, failed)'),
  queueDepth: registry.gauge('retain_queue_jobs', 'Jobs per queue and state'),
  notificationsSent: registry.counter('retain_notifications_sent_total', 'Notifications delivered to Slack, by kind'),
  notificationsFailed: registry.counter('retain_notifications_failed_total', 'Notifications that failed for good, by kind and reason'),
  slack429: registry.counter('retain_slack_rate_limited_total', 'Slack 429 answers received, by method'),
  alertsRaised: registry.counter('retain_alerts_raised_total', 'Churn warnings raised, by rule'),
  alertsResolved: registry.counter('retain_alerts_resolved_total', 'Churn warnings resolved, by reason'),
  remindersQueued: registry.counter('retain_renewal_reminders_total', 'Renewal reminders queued (each once)'),
  deliveryWait: registry.histogram(
    'retain_delivery_wait_seconds',
    'Time from a notification claimed to posted in Slack',
    [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900],
  ),
  ingestRequests: registry.counter('retain_ingest_requests_total', 'Ingest API requests answered, by endpoint and HTTP status'),
  ingestInFlight: registry.gauge('retain_ingest_in_flight', 'Ingest API requests being handled now'),
  ingestSeconds: registry.histogram('retain_ingest_request_seconds', 'Time to handle an ingest API request, by endpoint'),
  replicaUp: registry.gauge('retain_replica_up', 'Whether the read replica takes reads (1) or they go to the primary (0); absent without a replica'),
  replicaLag: registry.gauge('retain_replica_lag_seconds', 'How long the read replica has been behind the primary, at the last probe'),
  readRoute: registry.counter(
    'retain_read_route_total',
    'Reads about a customer or person (and reads moved off a failing replica), by server taken and reason',
  ),
};
