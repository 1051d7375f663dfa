/**
 * A small planted book for the scoring tests, built relative to `now`:
 *
 * - THRIVE: big account, monthly orders, usage rising, NPS 9, touched 10 days
 *   ago, praise;
 * - SLIP: the largest account; orders still monthly, but usage down ~70% in
 *   the last 30 days, three complaints in the last three weeks, NPS 3, a
 *   negative feedback, nobody has called in 200 days;
 * - GONE: ordered monthly for a year, then stopped eight months ago (orders
 *   and usage), untouched since;
 * - fillers: steady monthly customers (some that stopped ordering a while ago)
 *   so the purchase model has a population to learn from.
 *
 * Customers and signals go in through the real CSV import; touches and
 * feedback are inserted directly (as their services would).
 */
import { sql } from 'kysely';
import type { TestDb } from '../helpers/db.js';
import { loadCustomersCsv, loadEventsCsv } from '../helpers/fixtures.js';

const DAY = 86_400_000;

export interface PlantedBook {
  customersCsv: string;
  eventsCsv: string;
  touches: { customer: string; daysAgo: number }[];
  feedback: { customer: string; kind: 'complaint' | 'praise'; sentiment: number; daysAgo: number }[];
  /** external id → churned_at (as an ISO time) for customers to mark churned. */
  churned: Record<string, string>;
}

function iso(now: Date, daysAgo: number, hour = 10): string {
  const d = new Date(now.getTime() - daysAgo * DAY);
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
}

export function plantedBook(now: Date, opts: { fillers?: number } = {}): PlantedBook {
  const customers = ['external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team'];
  const events = ['customer_external_id,kind,occurred_at,value,external_id'];
  const touches: PlantedBook['touches'] = [];
  const feedback: PlantedBook['feedback'] = [];
  let n = 0;
  const ev = (c: string, kind: string, daysAgo: number, value: number | null, hour = 10) =>
    events.push(`${c},${kind},${iso(now, daysAgo, hour)},${value ?? ''},${c}-${++n}`);

  customers.push('THRIVE,Thrive Corp,thrive.example,pro,120000,USD,,,');
  for (let d = 360; d >= 0; d -= 30) ev('THRIVE', 'order', d, 10_000);
  ev('THRIVE', 'order', 60, 2_500, 15);
  for (let d = 89; d >= 0; d -= 7) ev('THRIVE', 'usage', d, d < 30 ? 130 : 100);
  ev('THRIVE', 'nps', 20, 9);
  touches.push({ customer: 'THRIVE', daysAgo: 10 });
  feedback.push({ customer: 'THRIVE', kind: 'praise', sentiment: 0.8, daysAgo: 12 });

  customers.push('SLIP,Slip Industries,slip.example,enterprise,300000,USD,,,');
  for (let d = 360; d >= 0; d -= 30) ev('SLIP', 'order', d, 25_000);
  for (let d = 89; d >= 0; d -= 7) ev('SLIP', 'usage', d, d < 30 ? 30 : 100);
  for (const d of [4, 9, 20]) ev('SLIP', 'complaint', d, null);
  ev('SLIP', 'nps', 15, 3);
  touches.push({ customer: 'SLIP', daysAgo: 200 });
  feedback.push({ customer: 'SLIP', kind: 'complaint', sentiment: -0.7, daysAgo: 6 });

  customers.push('GONE,Gone Away Ltd,gone.example,growth,20000,USD,,,');
  for (let d = 600; d >= 240; d -= 30) ev('GONE', 'order', d, 1_500);
  for (let d = 600; d >= 240; d -= 7) ev('GONE', 'usage', d, 40);
  touches.push({ customer: 'GONE', daysAgo: 260 });

  const fillers = opts.fillers ?? 27;
  for (let i = 0; i < fillers; i++) {
    const id = `F${String(i).padStart(2, '0')}`;
    customers.push(`${id},Filler ${i},f${i}.example,starter,${5_000 + i * 1_000},USD,,,`);
    // A third of the fillers stopped ordering 5–11 months ago, and some bought
    // only once or twice a year ago: the fit learns that customers drop out,
    // some soon and some never.
    const start = 400 + (i % 5) * 20;
    const stoppedDaysAgo = i % 3 === 0 ? 150 + (i % 7) * 30 : i % 9 === 2 || i % 9 === 5 ? start - 20 * (i % 3) : 0;
    // Purchase rates differ from customer to customer (every 2 weeks to every 3 months).
    const every = 14 + ((i * 37) % 80);
    for (let d = start; d >= stoppedDaysAgo; d -= every + (d % 5)) ev(id, 'order', d, 400 + i * 10 + (d % 50));
    for (let d = 89; d >= 0; d -= 7) if (d >= stoppedDaysAgo) ev(id, 'usage', d, 20 + (i % 5));
    if (i % 5 === 1) ev(id, 'payment_failed', 40, null);
    ev(id, 'nps', i, 7 + (i % 3));
    touches.push({ customer: id, daysAgo: 5 + (i % 40) });
  }
  return { customersCsv: `${customers.join('\n')}\n`, eventsCsv: `${events.join('\n')}\n`, touches, feedback, churned: {} };
}

/** Load a book through the real import, then touches, feedback and churn marks. */
export async function loadBook(db: TestDb, book: PlantedBook, now: Date): Promise<void> {
  const c = await loadCustomersCsv(db, book.customersCsv);
  if (c.problems.length) throw new Error(`customers: ${JSON.stringify(c.problems)}`);
  const e = await loadEventsCsv(db, book.eventsCsv);
  if (e.problems.length) throw new Error(`events: ${JSON.stringify(e.problems.slice(0, 3))}`);
  // Exactly daysAgo before now (not at a fixed hour of that day): the card rounds to whole days, at any time of day.
  const touches = book.touches.map((t) => ({ customer: t.customer, at: new Date(now.getTime() - t.daysAgo * DAY).toISOString() }));
  await sql`
    INSERT INTO interactions (customer_id, author_slack_id, kind, note, occurred_at)
    SELECT c.id, 'U0TEST', 'call', 'planted', t.at::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(touches)}::jsonb) AS t(customer text, at text)
    JOIN customers c ON c.external_id = t.customer`.execute(db.db);
  const fb = book.feedback.map((f) => ({ ...f, at: iso(now, f.daysAgo, 12) }));
  await sql`
    INSERT INTO feedback (customer_id, author_slack_id, kind, sentiment, text, created_at)
    SELECT c.id, 'U0TEST', f.kind, f.sentiment, 'planted', f.at::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(fb)}::jsonb) AS f(customer text, kind text, sentiment numeric, at text)
    JOIN customers c ON c.external_id = f.customer`.execute(db.db);
  const churned = Object.entries(book.churned).map(([id, at]) => ({ id, at }));
  if (churned.length) {
    await sql`
      UPDATE customers c SET status = 'churned', churned_at = x.at::timestamptz
      FROM jsonb_to_recordset(${JSON.stringify(churned)}::jsonb) AS x(id text, at text)
      WHERE c.external_id = x.id`.execute(db.db);
  }
}

export async function customerIdOf(db: TestDb, externalId: string): Promise<string> {
  const r = await db.db.selectFrom('customers').select('id').where('external_id', '=', externalId).executeTakeFirstOrThrow();
  return String(r.id);
}
