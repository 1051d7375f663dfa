/**
 * A simulated book whose churn is drawn from a known logistic model of the
 * scorecard's measures, for the health model's fit. Every 90 days (the
 * model's horizon) each live customer gets a fresh quarter of signals —
 * weekly usage with some trend, failed payments, complaints, one NPS answer —
 * whose measures the scorecard computes as of the quarter's end; then, with
 * probability σ(b0 + Σ β_j · (score_j − neutral_j)), the customer churns
 * within the next 90 days (customers.status / churned_at) and sends nothing
 * more. Integration-test only.
 */
import { sql } from 'kysely';
import { NEUTRAL_SCORES, scoreHealth, seededRandom, sigmoid, type MeasureKey } from '../../src/scoring/index.js';
import type { TestDb } from '../helpers/db.js';

const DAY = 86_400_000;

export interface HealthBookOptions {
  customers: number;
  /** End of the simulated history: the last quarter ends here, with no churn drawn after it. */
  asOf: Date;
  /** Quarters of history, oldest first, each 90 days; churn is drawn after all but the last. */
  quarters: number;
  intercept: number;
  /** Log-odds of churn per point of each measure above its neutral score. */
  coefficients: Partial<Record<MeasureKey, number>>;
  seed: number;
}

export interface HealthBook {
  /** Customer-quarters judged, and how many churned, per quarter end (oldest first). */
  quarters: { end: Date; alive: number; churned: number }[];
}

/** Noon UTC, `daysBefore` whole days before the day of `end`. */
function noonBefore(end: Date, daysBefore: number): Date {
  const d = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate() - daysBefore, 12));
  return d;
}

export async function loadHealthBook(db: TestDb, o: HealthBookOptions): Promise<HealthBook> {
  const random = seededRandom(o.seed);
  const pick = <T>(weights: readonly [T, number][]): T => {
    let u = random();
    for (const [v, w] of weights) {
      u -= w;
      if (u < 0) return v;
    }
    return weights[weights.length - 1]![0];
  };
  const ids = Array.from({ length: o.customers }, (_, i) => `H${String(i).padStart(5, '0')}`);
  await sql`
    INSERT INTO customers (external_id, name, plan, arr)
    SELECT x, 'Simulated ' || x, CASE WHEN right(x, 1) IN ('0', '1', '2') THEN 'enterprise' ELSE 'pro' END, 12000
    FROM unnest(${ids}::text[]) AS x`.execute(db.db);
  const signals: { c: string; k: string; at: string; v: number | null; key: string }[] = [];
  const churns: { c: string; at: string }[] = [];
  const alive = new Set(ids);
  const summary: HealthBook['quarters'] = [];
  let n = 0;
  for (let q = o.quarters - 1; q >= 0; q--) {
    const end = new Date(o.asOf.getTime() - q * 90 * DAY);
    let churned = 0;
    const judged = alive.size;
    for (const c of [...alive]) {
      const add = (kind: string, daysBefore: number, value: number | null) => {
        signals.push({ c, k: kind, at: noonBefore(end, daysBefore).toISOString(), v: value, key: `h${++n}` });
      };
      // Usage: 9 weekly points in the 60 days before the last 30, 4 in the last 30, trend ρ.
      const level = 20 + Math.floor(random() * 60);
      const rho = 0.15 + random() * 1.35;
      const recent = Math.round(((rho * 9 * level * 30) / (60 * 4)) * 100) / 100;
      let prev = 0;
      let last = 0;
      for (let d = 89; d >= 33; d -= 7) {
        add('usage', d, level);
        prev += level;
      }
      for (let d = 26; d >= 5; d -= 7) {
        add('usage', d, recent);
        last += recent;
      }
      const failures = pick([
        [0, 0.55],
        [1, 0.2],
        [2, 0.15],
        [3, 0.1],
      ] as const);
      for (let i = 0; i < failures; i++) add('payment_failed', 1 + Math.floor(random() * 85), null);
      const complaintAges: number[] = [];
      const complaints = pick([
        [0, 0.55],
        [1, 0.25],
        [2, 0.2],
      ] as const);
      for (let i = 0; i < complaints; i++) {
        const d = 1 + Math.floor(random() * 85);
        add('complaint', d, null);
        complaintAges.push((end.getTime() - noonBefore(end, d).getTime()) / DAY);
      }
      const nps = Math.floor(random() * 11);
      const npsDay = 1 + Math.floor(random() * 20);
      add('nps', npsDay, nps);
      if (q === 0) continue; // the last quarter: nothing after it is known
      const scored = scoreHealth({
        usageLast30: last,
        usagePrev60: prev,
        complaintAgesDays: complaintAges,
        paymentFailures90d: failures,
        latestNps: nps,
        latestNpsAgeDays: (end.getTime() - noonBefore(end, npsDay).getTime()) / DAY,
      });
      let z = o.intercept;
      for (const m of scored.measures) z += (o.coefficients[m.key] ?? 0) * (m.score - NEUTRAL_SCORES[m.key]);
      if (random() < sigmoid(z)) {
        churns.push({ c, at: new Date(end.getTime() + (1 + random() * 88) * DAY).toISOString() });
        alive.delete(c);
        churned++;
      }
    }
    summary.push({ end, alive: judged, churned });
  }
  for (let at = 0; at < signals.length; at += 20_000) {
    const chunk = signals.slice(at, at + 20_000);
    await sql`
      INSERT INTO signals (customer_id, kind, occurred_at, value, external_id, dedupe_key)
      SELECT c.id, r.k, r.at::timestamptz, r.v, r.key, r.key
      FROM jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) AS r(c text, k text, at text, v numeric, key text)
      JOIN customers c ON c.external_id = r.c`.execute(db.db);
  }
  if (churns.length) {
    await sql`
      UPDATE customers c SET status = 'churned', churned_at = x.at::timestamptz
      FROM jsonb_to_recordset(${JSON.stringify(churns)}::jsonb) AS x(c text, at text) WHERE c.external_id = x.c`.execute(db.db);
  }
  return { quarters: summary.slice(0, -1) };
}
