/**
 * Fit benchmark for the buy-till-you-die models, and (--book) for the nightly
 * fit of a large book in PostgreSQL.
 *
 *   npx tsx bench/fit.bench.ts
 *   npm run bench:fit-book -- [--customers 1000000] [--reuse] [--keep]
 *
 * 1. CDNOW (2,357 customers, calibration rebuilt from the transaction log):
 *    median wall time of BG/NBD and Gamma-Gamma fits after warm-up.
 * 2. 1,000,000 synthetic customers simulated from the BG/NBD (+ Gamma-Gamma)
 *    generative process with day-granular purchase times, so (x, t_x, T)
 *    patterns repeat as in real logs: simulation, grouping and fit times,
 *    distinct patterns, and the parameters recovered vs the true ones.
 * 3. --book: a book of 1,000,000 customers built with set-based SQL in its own
 *    database (retain_bench_fit): plans, contract starts over five years,
 *    churn drawn per customer from a latent risk (yearly churn spread across
 *    customers as the sBG assumes), and
 *    ~12M signals over the last 450 days whose mix follows the same risk
 *    (usage falls, complaints and failed payments rise, NPS drops — more so
 *    in the 90 days before a churn). Times the nightly fit as the `fit` job
 *    runs it — purchase models, the health model (4 origins, held-out
 *    validation, sampled replays), the sBG by plan — with the peak RSS of
 *    this process (run with a 256 MB old-space cap, as `retain` runs).
 *    --reuse keeps a book of the requested size; --keep leaves the database.
 */
import { fitBgNbd, groupBgNbdObservations, type BgNbdParams } from '../src/scoring/bgnbd.js';
import { fitGammaGamma, type GammaGammaParams } from '../src/scoring/gammagamma.js';
import { summarizePurchases } from '../src/scoring/purchases.js';
import { CALIBRATION_END, loadCdnowOrders } from '../tests/unit/scoring/cdnow.js';
import { simulateCustomers } from '../tests/unit/scoring/simulate.js';

const TRUE_BGNBD: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const TRUE_GG: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.44 };
const SYNTHETIC_CUSTOMERS = Number(process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 1_000_000);

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function bench(fn: () => unknown, warmup: number, runs: number): { median: number; p90: number } {
  for (let i = 0; i < warmup; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(time(fn)[1]);
  samples.sort((a, b) => a - b);
  return { median: median(samples), p90: samples[Math.floor(0.9 * (samples.length - 1))]! };
}

const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const pct = (est: number, truth: number): string => `${((est / truth - 1) * 100).toFixed(1).padStart(5)}%`;

function compare(label: string, est: Record<string, number>, truth: Record<string, number>): void {
  const cells = Object.keys(truth).map((k) => `${k} ${est[k]!.toFixed(4)} (true ${truth[k]}, ${pct(est[k]!, truth[k]!)})`);
  console.log(`  ${label}: ${cells.join('; ')}`);
}

function cdnow(): void {
  const [summaries, loadMs] = time(() => [...loadCdnowOrders().values()].map((orders) => summarizePurchases(orders, CALIBRATION_END)!));
  const patterns = groupBgNbdObservations(summaries);
  const cdnowFit = fitBgNbd(summaries);
  const ggFit = fitGammaGamma(summaries);
  const bgRaw = bench(() => fitBgNbd(summaries), 50, 300);
  const bgGrouped = bench(() => fitBgNbd(patterns), 50, 300);
  const gg = bench(() => fitGammaGamma(summaries), 50, 300);

  console.log(`CDNOW: ${summaries.length} customers, ${patterns.size} distinct (x, t_x, T) patterns (log parsed + summarised in ${ms(loadMs)})`);
  console.log(`  BG/NBD fit, from customers (incl. grouping): median ${ms(bgRaw.median)}, p90 ${ms(bgRaw.p90)}`);
  console.log(`  BG/NBD fit, from grouped patterns:           median ${ms(bgGrouped.median)}, p90 ${ms(bgGrouped.p90)}`);
  console.log(`  Gamma-Gamma fit (${ggFit.customers} repeaters):          median ${ms(gg.median)}, p90 ${ms(gg.p90)}`);
  console.log(
    `  BG/NBD r ${cdnowFit.r.toFixed(4)} α ${cdnowFit.alpha.toFixed(3)} a ${cdnowFit.a.toFixed(4)} b ${cdnowFit.b.toFixed(3)} ` +
      `LL ${cdnowFit.logLikelihood.toFixed(4)} (${cdnowFit.iterations} BFGS iterations)`,
  );
  console.log(`  Gamma-Gamma p ${ggFit.p.toFixed(3)} q ${ggFit.q.toFixed(3)} γ ${ggFit.gamma.toFixed(3)} LL ${ggFit.logLikelihood.toFixed(4)}`);
}

function synthetic(): void {
  console.log(`\nSynthetic: ${SYNTHETIC_CUSTOMERS.toLocaleString('en-US')} customers, cohort over 84 days, 272-day calibration, day-granular times`);
  const [customers, simMs] = time(() => simulateCustomers({ customers: SYNTHETIC_CUSTOMERS, bgnbd: TRUE_BGNBD, spend: TRUE_GG, seed: 20240601 }));
  const [grouped, groupMs] = time(() => groupBgNbdObservations(customers));
  const [synthFit, fitMs] = time(() => fitBgNbd(grouped));
  const [, endToEndMs] = time(() => fitBgNbd(customers));
  const [synthGg, ggMs] = time(() => fitGammaGamma(customers));
  const repeaters = customers.filter((c) => c.x > 0).length;
  console.log(`  simulate ${ms(simMs)}; ${repeaters.toLocaleString('en-US')} repeaters`);
  console.log(
    `  group: ${ms(groupMs)} → ${grouped.size.toLocaleString('en-US')} distinct patterns (${(SYNTHETIC_CUSTOMERS / grouped.size).toFixed(1)} customers per pattern)`,
  );
  console.log(
    `  BG/NBD fit on patterns: ${ms(fitMs)} (${synthFit.iterations} BFGS iterations, converged ${synthFit.converged}); end to end from customers: ${ms(endToEndMs)}`,
  );
  compare('BG/NBD', synthFit as unknown as Record<string, number>, TRUE_BGNBD as unknown as Record<string, number>);
  console.log(`  Gamma-Gamma fit: ${ms(ggMs)} on ${synthGg.customers.toLocaleString('en-US')} repeaters`);
  compare('Gamma-Gamma', synthGg as unknown as Record<string, number>, TRUE_GG as unknown as Record<string, number>);
}

// Control: the same process in continuous time (no day rounding, no same-day
// merging), where every repeater is its own pattern. Separates estimator error
// from the bias the day-granular data convention itself introduces.
function continuousControl(): void {
  const [continuous, contSimMs] = time(() => simulateCustomers({ customers: SYNTHETIC_CUSTOMERS, bgnbd: TRUE_BGNBD, seed: 20240601, dayGranular: false }));
  const [contFit, contFitMs] = time(() => fitBgNbd(continuous));
  console.log(
    `\nControl, continuous time: simulate ${ms(contSimMs)}; fit end to end ${ms(contFitMs)} over ${contFit.patterns.toLocaleString('en-US')} patterns`,
  );
  compare('BG/NBD', contFit as unknown as Record<string, number>, TRUE_BGNBD as unknown as Record<string, number>);
}

if (process.argv.includes('--book')) {
  const { benchBook } = await import('./fit-book.js');
  await benchBook(process.argv.slice(2));
} else {
  cdnow();
  synthetic();
  continuousControl();
}
