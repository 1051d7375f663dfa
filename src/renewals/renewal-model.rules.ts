/**
 * The contractual renewal model, pure: sBG (or BdW) fits by segment from
 * contract observations, what each fit says (next renewal's retention,
 * discounted expected residual lifetime), and the forecast of a period's open
 * renewals — each one's chance from r(t) at its tenure, pooled with the
 * health model's chance of churn where there is one. No I/O, no clock.
 */
import {
  fitBdw,
  fitSbg,
  forecastRenewals,
  retentionDataFromObservations,
  retentionDerl,
  retentionRate,
  ScoringError,
  type RenewalForecast,
  type RetentionParams,
  type UpcomingRenewal,
} from '../scoring/index.js';

export type SegmentBy = 'plan' | 'tier' | 'none';
export type RetentionModelKind = 'sbg' | 'bdw';

export interface ObservationCount {
  readonly segment: string;
  readonly periods: number;
  readonly churned: boolean;
  readonly n: number;
}

export interface SegmentFit {
  readonly segment: string;
  readonly customers: number;
  readonly churned: number;
  readonly active: number;
  /** The segment's own maximum-likelihood fit; null where its data cannot identify one (see problem). */
  readonly alpha: number | null;
  readonly beta: number | null;
  /** BdW shape; 1 for the sBG. */
  readonly c: number | null;
  readonly logLikelihood: number | null;
  readonly converged: boolean;
  readonly problem: string | null;
  /** Which parameters this segment's forecasts use: its own, the pooled fit's (too few customers, or no own fit), or none. */
  readonly uses: 'own' | 'pooled' | 'none';
  /** Expected share of the segment's active customers renewing at their next renewal, r(n + 1) averaged. */
  readonly nextPeriodRetention: number | null;
  /** Discounted expected residual lifetime (renewals) of a new customer, and averaged over the active ones. */
  readonly derlNew: number | null;
  readonly derlActive: number | null;
}

export interface RenewalModel {
  readonly version: 1;
  readonly kind: RetentionModelKind;
  readonly by: SegmentBy;
  /** Per contract year, for DERL. */
  readonly discountRate: number;
  /** All segments together: the fallback of segments too small to fit alone. */
  readonly pooled: SegmentFit;
  readonly segments: readonly SegmentFit[];
}

export interface FitRenewalOptions {
  readonly kind: RetentionModelKind;
  readonly by: SegmentBy;
  readonly discountRate: number;
  /** A segment with fewer customers uses the pooled fit. Default 30. */
  readonly minCustomers?: number;
}

function paramsOf(f: SegmentFit | null | undefined): RetentionParams | null {
  return f && f.alpha !== null && f.beta !== null ? { alpha: f.alpha, beta: f.beta, c: f.c ?? 1 } : null;
}

function fitOne(segment: string, counts: readonly ObservationCount[], o: FitRenewalOptions, fallback: RetentionParams | null): SegmentFit {
  const data = retentionDataFromObservations(counts.map((c) => ({ periods: c.periods, churned: c.churned, count: c.n })));
  const activeBy = new Map<number, number>();
  for (const c of counts) if (!c.churned) activeBy.set(c.periods, (activeBy.get(c.periods) ?? 0) + c.n);
  const active = [...activeBy.values()].reduce((a, b) => a + b, 0);
  let own: { alpha: number; beta: number; c: number; logLikelihood: number; converged: boolean; problem: string | null } | null = null;
  let problem: string | null = null;
  if (data.customers > 0) {
    try {
      const fit = o.kind === 'bdw' ? fitBdw(data) : fitSbg(data);
      own = fit;
      problem = fit.problem ?? (fit.converged ? null : 'the fit did not converge');
    } catch (e) {
      problem = e instanceof ScoringError ? e.message : String(e);
    }
  } else {
    problem = 'no customers';
  }
  const minCustomers = o.minCustomers ?? 30;
  const ownUsable = own !== null && problem === null;
  const uses: SegmentFit['uses'] = ownUsable && (data.customers >= minCustomers || fallback === null) ? 'own' : fallback ? 'pooled' : 'none';
  const params = uses === 'own' ? { alpha: own!.alpha, beta: own!.beta, c: own!.c } : uses === 'pooled' ? fallback : null;
  let nextPeriodRetention: number | null = null;
  let derlActive: number | null = null;
  let derlNew: number | null = null;
  if (params) {
    derlNew = retentionDerl(params, o.discountRate, 0);
    if (active > 0) {
      let r = 0;
      let d = 0;
      for (const [n, count] of activeBy) {
        r += count * retentionRate(params, n + 1);
        d += count * retentionDerl(params, o.discountRate, n);
      }
      nextPeriodRetention = r / active;
      derlActive = d / active;
    }
  }
  return {
    segment,
    customers: data.customers,
    churned: data.churned,
    active,
    alpha: ownUsable ? own!.alpha : null,
    beta: ownUsable ? own!.beta : null,
    c: ownUsable ? own!.c : null,
    logLikelihood: ownUsable ? own!.logLikelihood : null,
    converged: ownUsable,
    problem,
    uses,
    nextPeriodRetention,
    derlNew,
    derlActive,
  };
}

/** Fits the pooled model and one per segment; a segment too small for its own fit uses the pooled one. */
export function fitRenewalModel(counts: readonly ObservationCount[], o: FitRenewalOptions): RenewalModel {
  const pooled = fitOne('all', counts, o, null);
  const pooledParams = pooled.uses === 'own' ? paramsOf(pooled) : null;
  const bySegment = new Map<string, ObservationCount[]>();
  for (const c of counts) {
    const list = bySegment.get(c.segment) ?? [];
    list.push(c);
    bySegment.set(c.segment, list);
  }
  const segments =
    o.by === 'none'
      ? []
      : [...bySegment.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([segment, list]) => fitOne(segment, list, o, pooledParams));
  return { version: 1, kind: o.kind, by: o.by, discountRate: o.discountRate, pooled, segments };
}

/** The parameters each segment's forecasts use ('all' is the pooled fit). */
export function paramsBySegment(model: RenewalModel): Record<string, RetentionParams> {
  const out: Record<string, RetentionParams> = {};
  const pooled = model.pooled.uses === 'own' ? paramsOf(model.pooled) : null;
  if (pooled) out.all = pooled;
  for (const s of model.segments) {
    const p = s.uses === 'own' ? paramsOf(s) : s.uses === 'pooled' ? pooled : null;
    if (p) out[s.segment] = p;
  }
  return out;
}

export function parseRenewalModel(details: unknown): RenewalModel | null {
  if (!details || typeof details !== 'object') return null;
  const d = details as Partial<RenewalModel>;
  if (d.version !== 1 || !d.pooled || !Array.isArray(d.segments) || (d.by !== 'plan' && d.by !== 'tier' && d.by !== 'none')) return null;
  return d as RenewalModel;
}

// ---------------------------------------------------------------------------
// Forecast
// ---------------------------------------------------------------------------

export interface OpenRenewal {
  readonly customerId: string;
  readonly arr: number;
  readonly renewalDate: string;
  readonly startedAt: Date | null;
  readonly plan: string | null;
  readonly tier: string | null;
  readonly team: string | null;
  /** The health model's chance of churn, if the latest score has one. */
  readonly churnProbability: number | null;
}

const YEAR_DAYS = 365.2425;

/**
 * Contract years completed at a renewal: the n of r(n), the share of
 * customers in year n who renew at its end. A renewal date need not fall on
 * the start's anniversary (contracts get co-termed), so it is the nearest
 * whole number of years, at least 1.
 */
export function tenureAtRenewal(startedAt: Date, renewalDate: string): number {
  const renewal = Date.parse(`${renewalDate}T00:00:00Z`);
  return Math.max(1, Math.round((renewal - startedAt.getTime()) / (YEAR_DAYS * 86_400_000)));
}

export function segmentOfRenewal(by: SegmentBy, r: { plan: string | null; tier: string | null }): string {
  if (by === 'plan') return r.plan && r.plan !== '' ? r.plan : '(no plan)';
  if (by === 'tier') return r.tier ?? '(no tier)';
  return 'all';
}

export interface TeamForecast {
  readonly team: string;
  readonly forecast: RenewalForecast;
}

export interface OpenRenewalsForecast {
  readonly overall: RenewalForecast;
  readonly byTeam: readonly TeamForecast[];
  /** Renewals with no contract start whose chance comes from the health model alone. */
  readonly healthOnly: number;
  /** Renewals neither model can say anything about (no contract start, no chance of churn). */
  readonly unforecast: number;
}

export interface ForecastOptions {
  readonly healthWeight: number;
  readonly level: number;
}

/**
 * The forecast of open renewals. A renewal without a contract start has no
 * tenure for the retention model; its chance comes from the health model
 * alone when there is one, else it is counted as not forecast. Monte Carlo
 * draws scale down with the number of renewals (a few tens of millions of
 * draws at most), so a quarter of a large book stays quick.
 */
export function forecastOpenRenewals(rows: readonly OpenRenewal[], model: RenewalModel | null, o: ForecastOptions): OpenRenewalsForecast {
  const params = model ? paramsBySegment(model) : {};
  const by = model?.by ?? 'none';
  const items: (UpcomingRenewal & { team: string })[] = [];
  let healthOnly = 0;
  let unforecast = 0;
  for (const r of rows) {
    const segment = segmentOfRenewal(by, r);
    const team = r.team ?? '(no team)';
    const health = r.churnProbability !== null && Number.isFinite(r.churnProbability) ? Math.min(1, Math.max(0, r.churnProbability)) : null;
    const known = params[segment] ?? params.all;
    if (r.startedAt && known) {
      items.push({
        id: r.customerId,
        arr: r.arr,
        tenurePeriods: tenureAtRenewal(r.startedAt, r.renewalDate),
        segment: params[segment] ? segment : 'all',
        churnProbability: health,
        team,
      });
    } else if (health !== null) {
      healthOnly++;
      items.push({ id: r.customerId, arr: r.arr, tenurePeriods: 1, segment: `${segment} (no contract start)`, churnProbability: health, team });
    } else {
      unforecast++;
    }
  }
  const run = (list: readonly UpcomingRenewal[]) =>
    forecastRenewals(list, params, {
      level: o.level,
      healthWeight: o.healthWeight,
      simulations: Math.min(10_000, Math.max(500, Math.floor(20_000_000 / Math.max(1, list.length)))),
    });
  const teams = new Map<string, UpcomingRenewal[]>();
  for (const it of items) {
    const list = teams.get(it.team) ?? [];
    list.push(it);
    teams.set(it.team, list);
  }
  return {
    overall: run(items),
    byTeam: [...teams.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([team, list]) => ({ team, forecast: run(list) })),
    healthOnly,
    unforecast,
  };
}

/** 'YYYY-Qn' (or 'YYYYQn') → its first and last day; null when it is not a quarter. */
export function parseQuarter(value: string): { key: string; start: string; end: string } | null {
  const m = /^(\d{4})-?[Qq]([1-4])$/.exec(value.trim());
  if (!m) return null;
  const y = Number(m[1]);
  const q = Number(m[2]);
  const start = `${y}-${String((q - 1) * 3 + 1).padStart(2, '0')}-01`;
  const next = q === 4 ? Date.UTC(y + 1, 0, 1) : Date.UTC(y, q * 3, 1);
  return { key: `${y}-Q${q}`, start, end: new Date(next - 86_400_000).toISOString().slice(0, 10) };
}
