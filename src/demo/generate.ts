import { DAY_MS, isoDate } from '../platform/clock.js';

/**
 * A deterministic sample book for the demo and the backtest: ~500 B2B
 * customers over 18 months with thriving, steady, slipping and churned
 * accounts. Pure: the same seed and `now` give the same book.
 */
export type Archetype = 'thriving' | 'steady' | 'slipping' | 'churned' | 'new';

export interface DemoMember {
  slackUserId: string;
  name: string;
  team: string;
  role: 'rep' | 'manager' | 'admin';
}
export interface DemoTeam {
  key: string;
  name: string;
  channelId: string;
  tz: string;
}
export interface DemoCustomer {
  externalId: string;
  name: string;
  domain: string;
  plan: string;
  arr: number;
  currency: string;
  renewalDate: string | null;
  owner: string | null;
  team: string;
  archetype: Archetype;
  /** For churned accounts: when orders and usage stopped. */
  churnedAt: string | null;
}
export interface DemoEvent {
  customer: string;
  kind: 'order' | 'usage' | 'ticket' | 'complaint' | 'payment_failed' | 'nps';
  occurredAt: string;
  value: number | null;
  externalId: string;
}
export interface DemoTouch {
  customer: string;
  author: string;
  kind: 'call' | 'meeting' | 'email' | 'qbr' | 'note';
  note: string;
  occurredAt: string;
}
export interface DemoFeedback {
  customer: string;
  author: string;
  kind: 'complaint' | 'praise' | 'suggestion' | 'question';
  sentiment: number;
  text: string;
  createdAt: string;
}
export interface DemoBook {
  teams: DemoTeam[];
  members: DemoMember[];
  customers: DemoCustomer[];
  events: DemoEvent[];
  touches: DemoTouch[];
  feedback: DemoFeedback[];
}

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIXES = [
  'Northwind',
  'Blue Harbor',
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Stark',
  'Wayne',
  'Cyberdyne',
  'Hooli',
  'Vandelay',
  'Soylent',
  'Tyrell',
  'Wonka',
  'Aperture',
  'Black Mesa',
  'Gringotts',
  'Oscorp',
  'Massive Dynamic',
  'Pied Piper',
  'Dunder',
  'Prestige',
  'Sterling',
  'Bluth',
  'Monarch',
  'Nakatomi',
  'Zorg',
  'Virtucon',
  'Duff',
  'Krusty',
  'Ollivander',
  'Paper Street',
  'Silver Lake',
  'Red Rock',
  'Granite',
  'Evergreen',
  'Summit',
  'Harbor Point',
  'Lakeside',
  'Ironwood',
  'Brightline',
  'Cobalt',
  'Falcon',
  'Helix',
  'Juniper',
  'Keystone',
  'Lumen',
  'Meridian',
  'Nimbus',
  'Orion',
  'Pioneer',
  'Quantum',
  'Riverton',
  'Sapphire',
  'Titan',
  'Unity',
  'Vertex',
];
const SUFFIXES = [
  'Logistics',
  'Analytics',
  'Health',
  'Foods',
  'Robotics',
  'Media',
  'Capital',
  'Labs',
  'Systems',
  'Retail',
  'Energy',
  'Software',
  'Freight',
  'Clinics',
  'Insurance',
  'Studios',
  'Manufacturing',
  'Networks',
  'Bank',
  'Pharma',
  'Airlines',
  'Hotels',
  'Motors',
  'Telecom',
];
const CHINESE = [
  '星河科技',
  '蓝海物流',
  '华盛贸易',
  '云帆软件',
  '天启医疗',
  '金桥资本',
  '青松教育',
  '东方航运',
  '北辰能源',
  '锦程食品',
  '瑞丰制造',
  '明德咨询',
];
const PLANS = ['starter', 'growth', 'pro', 'enterprise'];

export function generateDemoBook(now: Date, seed = 42, size = 500): DemoBook {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const teams: DemoTeam[] = [
    { key: 'emea', name: 'EMEA', channelId: 'C0DEMOEMEA', tz: 'Europe/Berlin' },
    { key: 'na', name: 'North America', channelId: 'C0DEMONA', tz: 'America/New_York' },
    { key: 'apac', name: 'APAC', channelId: 'C0DEMOAPAC', tz: 'Asia/Shanghai' },
  ];
  const members: DemoMember[] = [
    { slackUserId: 'U0DEMOADMIN', name: 'Ada Admin', team: 'emea', role: 'admin' },
    { slackUserId: 'U0DEMOMGR1', name: 'Maria Manager', team: 'emea', role: 'manager' },
    { slackUserId: 'U0DEMOMGR2', name: 'Nate Manager', team: 'na', role: 'manager' },
    { slackUserId: 'U0DEMOMGR3', name: 'Li Wei', team: 'apac', role: 'manager' },
    { slackUserId: 'U0DEMOREP1', name: 'Alice', team: 'emea', role: 'rep' },
    { slackUserId: 'U0DEMOREP2', name: 'Bruno', team: 'emea', role: 'rep' },
    { slackUserId: 'U0DEMOREP3', name: 'Carmen', team: 'na', role: 'rep' },
    { slackUserId: 'U0DEMOREP4', name: 'Dev', team: 'na', role: 'rep' },
    { slackUserId: 'U0DEMOREP5', name: 'Zhang Min', team: 'apac', role: 'rep' },
    { slackUserId: 'U0DEMOREP6', name: 'Kenji', team: 'apac', role: 'rep' },
  ];
  const repsByTeam = new Map(teams.map((t) => [t.key, members.filter((m) => m.team === t.key && m.role === 'rep').map((m) => m.slackUserId)]));

  const customers: DemoCustomer[] = [];
  const events: DemoEvent[] = [];
  const touches: DemoTouch[] = [];
  const feedback: DemoFeedback[] = [];
  const usedNames = new Set<string>();
  const start = now.getTime() - 548 * DAY_MS; // 18 months

  for (let i = 0; i < size; i++) {
    const id = `CUST-${String(i + 1).padStart(4, '0')}`;
    let name: string;
    if (i % 42 === 7 && usedNames.size < size) {
      name = CHINESE[Math.floor(i / 42) % CHINESE.length] ?? pick(CHINESE);
      if (usedNames.has(name)) name = `${pick(CHINESE)}${i}`;
    } else {
      do name = `${pick(PREFIXES)} ${pick(SUFFIXES)}`;
      while (usedNames.has(name) && usedNames.size < PREFIXES.length * SUFFIXES.length);
      if (usedNames.has(name)) name = `${name} ${i}`;
    }
    usedNames.add(name);
    const isChinese = /[\u4e00-\u9fff]/.test(name);
    const team = isChinese ? 'apac' : pick(['emea', 'emea', 'na', 'na', 'apac'] as const);
    const roll = r();
    const archetype: Archetype = roll < 0.3 ? 'thriving' : roll < 0.65 ? 'steady' : roll < 0.83 ? 'slipping' : roll < 0.93 ? 'churned' : 'new';
    const plan = pick(PLANS);
    const planBase = { starter: 6_000, growth: 18_000, pro: 48_000, enterprise: 150_000 }[plan]!;
    // Heavy-tailed ARR so the ABC tiers mean something.
    const arr = Math.round((planBase * (0.5 + r() * 1.5) * (r() < 0.08 ? 4 : 1)) / 100) * 100;
    const reps = repsByTeam.get(team)!;
    const owner = r() < 0.88 ? pick(reps) : null;
    const renewalInDays = archetype === 'churned' ? null : Math.floor(r() * 365) - 20;
    const renewalDate = renewalInDays === null ? null : isoDate(new Date(now.getTime() + renewalInDays * DAY_MS));
    const domain = isChinese ? `cn${i}.example.cn` : `${name.toLowerCase().replace(/[^a-z]+/g, '')}${i % 7 === 0 ? i : ''}.example.com`;
    const firstDay = archetype === 'new' ? 30 + Math.floor(r() * 90) : Math.floor(r() * 120);
    const custStart = archetype === 'new' ? now.getTime() - firstDay * DAY_MS : start + firstDay * DAY_MS;
    // Churned accounts stopped 1–12 months ago (spread so that a backtest
    // 120 days back sees a realistic number of churners in its 90-day
    // horizon); slipping ones start fading 40–120 days ago.
    const stopAt = archetype === 'churned' ? now.getTime() - (30 + Math.floor(r() * 330)) * DAY_MS : null;
    const fadeFrom = archetype === 'slipping' ? now.getTime() - (40 + Math.floor(r() * 80)) * DAY_MS : null;
    // Churned accounts slipped before they stopped: fewer orders and fading
    // usage over their last 90 days, complaints in their last 75.
    const churnFadeFrom = stopAt ? stopAt - 90 * DAY_MS : null;
    customers.push({
      externalId: id,
      name,
      domain,
      plan,
      arr,
      currency: team === 'emea' ? 'EUR' : isChinese ? 'CNY' : 'USD',
      renewalDate,
      owner,
      team,
      archetype,
      churnedAt: stopAt ? isoDate(new Date(stopAt)) : null,
    });

    const seats = Math.max(3, Math.round(arr / 1500));
    let n = 0;
    const ev = (kind: DemoEvent['kind'], t: number, value: number | null) => {
      events.push({ customer: id, kind, occurredAt: new Date(t).toISOString(), value, externalId: `${id}-${kind}-${++n}` });
    };
    // Orders: invoices every month (starter/growth) or quarter (pro/enterprise), with add-ons.
    const period = plan === 'starter' || plan === 'growth' ? 30 : 91;
    for (let t = custStart; t < now.getTime(); t += period * DAY_MS) {
      if (stopAt && t > stopAt) break;
      if (fadeFrom && t > fadeFrom && r() < 0.7) continue;
      if (churnFadeFrom && t > churnFadeFrom && r() < 0.5) continue;
      const amount = Math.round(((arr * period) / 365) * (0.9 + r() * 0.2));
      ev('order', t + Math.floor(r() * 3) * DAY_MS, amount);
      if (archetype === 'thriving' && r() < 0.3) ev('order', t + (5 + Math.floor(r() * 20)) * DAY_MS, Math.round(amount * (0.2 + r() * 0.5)));
    }
    // Usage: weekly active users.
    for (let t = custStart + 3 * DAY_MS; t < now.getTime(); t += 7 * DAY_MS) {
      if (stopAt && t > stopAt) break;
      const age = (t - custStart) / (365 * DAY_MS);
      let level = seats * (0.55 + 0.1 * Math.sin(t / (60 * DAY_MS)));
      if (archetype === 'thriving') level *= 1 + age * 0.6;
      if (fadeFrom && t > fadeFrom) level *= Math.max(0.08, 1 - (t - fadeFrom) / (75 * DAY_MS));
      if (churnFadeFrom && t > churnFadeFrom) level *= Math.max(0.1, 1 - (t - churnFadeFrom) / (110 * DAY_MS));
      ev('usage', t, Math.max(0, Math.round(level * (0.85 + r() * 0.3))));
    }
    // Support tickets, complaints, failed payments, NPS.
    const recentWindow = (days: number) => now.getTime() - Math.floor(r() * days) * DAY_MS;
    const ticketCount = Math.floor(r() * 6) + (archetype === 'slipping' ? 4 : 0);
    for (let k = 0; k < ticketCount; k++)
      ev('ticket', Math.max(custStart, archetype === 'slipping' ? recentWindow(60) : custStart + r() * (now.getTime() - custStart)), null);
    const complaints = archetype === 'slipping' ? 1 + Math.floor(r() * 4) : archetype === 'steady' && r() < 0.2 ? 1 : 0;
    for (let k = 0; k < complaints; k++) ev('complaint', Math.max(custStart, recentWindow(archetype === 'slipping' ? 45 : 180)), null);
    if (stopAt) {
      const churnComplaints = 1 + Math.floor(r() * 3);
      for (let k = 0; k < churnComplaints; k++) ev('complaint', Math.max(custStart, stopAt - Math.floor(r() * 75) * DAY_MS), null);
    }
    if (archetype === 'slipping' && r() < 0.5) ev('payment_failed', recentWindow(40), null);
    if (archetype === 'churned' && stopAt) ev('payment_failed', stopAt - 20 * DAY_MS, null);
    for (let t = custStart + 90 * DAY_MS; t < (stopAt ?? now.getTime()); t += 120 * DAY_MS) {
      const base =
        archetype === 'thriving' ? 9 : archetype === 'steady' ? 7.5 : archetype === 'slipping' ? (fadeFrom && t > fadeFrom - 30 * DAY_MS ? 3 : 7) : 5;
      ev('nps', t, Math.max(0, Math.min(10, Math.round(base + (r() - 0.5) * 3))));
    }

    // People's touches: tier-A-ish accounts get regular calls, slipping ones are neglected.
    if (owner) {
      const cadence = archetype === 'slipping' ? 120 : arr > 60_000 ? 25 : 70;
      const lastTouchGap = archetype === 'slipping' ? 60 + Math.floor(r() * 60) : Math.floor(r() * cadence);
      for (let t = now.getTime() - lastTouchGap * DAY_MS, k = 0; t > custStart && k < 4; t -= cadence * DAY_MS, k++) {
        const kind = pick(['call', 'meeting', 'email', 'qbr'] as const);
        touches.push({
          customer: id,
          author: owner,
          kind,
          note: `${kind} with ${name.split(' ')[0]} team — ${pick(['reviewed roadmap', 'checked adoption', 'discussed pricing', 'onboarding follow-up', 'renewal prep'])}`,
          occurredAt: new Date(t).toISOString(),
        });
      }
    }
    if (r() < (archetype === 'slipping' ? 0.6 : 0.15)) {
      const author = owner ?? pick(reps);
      const bad = archetype === 'slipping' || archetype === 'churned';
      const [kind, text, sentiment] = bad
        ? pick([
            ['complaint', 'Reports are slow and exports time out every Monday', -0.7],
            ['complaint', '系统太慢了，报表经常打不开', -0.8],
            ['question', 'Asked whether they can downgrade seats before renewal', -0.2],
          ] as const)
        : pick([
            ['praise', 'Loved the new dashboard, rolled it out to the whole ops team', 0.8],
            ['suggestion', 'Would like SSO with Okta groups', 0.1],
            ['praise', '新版本很好用，团队都很满意', 0.8],
          ] as const);
      feedback.push({ customer: id, author, kind, sentiment, text, createdAt: new Date(now.getTime() - Math.floor(r() * 25) * DAY_MS).toISOString() });
    }
  }
  return { teams, members, customers, events, touches, feedback };
}

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function customersCsv(book: DemoBook): string {
  const lines = ['external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team'];
  for (const c of book.customers)
    lines.push([c.externalId, c.name, c.domain, c.plan, c.arr, c.currency, c.renewalDate, c.owner, c.team].map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}

export function eventsCsv(book: DemoBook): string {
  const lines = ['customer_external_id,kind,occurred_at,value,external_id'];
  for (const e of book.events) lines.push([e.customer, e.kind, e.occurredAt, e.value, e.externalId].map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}
