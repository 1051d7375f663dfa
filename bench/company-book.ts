/**
 * A large, varied, deterministic customer book for the lookup and import
 * benches (and the lookup tests): the i-th customer is a pure function of i,
 * so a million rows can be streamed to a CSV without holding them, and a
 * query mix can be drawn from the same book without loading it back.
 *
 * Names are built from thousands of synthetic stems (a few with diacritics),
 * a few hundred real words that every book repeats (North, Global, Systems,
 * GmbH…) and ~5% Chinese company names, through several templates. Each
 * template maps its running index through a permutation of its own space, so
 * names do not repeat by accident; ~1.4% of the customers deliberately share
 * another customer's name (subsidiaries, re-registrations).
 */

/** Small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit integer hash: per-row decisions without a stateful generator. */
function mix(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

const ONSETS = [
  'b',
  'c',
  'd',
  'f',
  'g',
  'h',
  'j',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'w',
  'z',
  'br',
  'cr',
  'dr',
  'fl',
  'gr',
  'kl',
  'pr',
  'st',
  'tr',
  'sh',
  'ch',
  'th',
  'sl',
  'sk',
  'pl',
  'bl',
  'gl',
];
const NUCLEI = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou', 'y', 'au', 'ei'];
const CODAS = ['', '', 'n', 'r', 's', 'l', 'x', 'm', 't', 'nd', 'rk', 'st', 'v'];
/** Accented spellings a stem may carry (unaccent folds them back). */
const ACCENTS: Record<string, string[]> = {
  a: ['á', 'à', 'ä', 'å'],
  e: ['é', 'è', 'ë'],
  i: ['í', 'ï'],
  o: ['ö', 'ó', 'ø'],
  u: ['ü', 'ú'],
  n: ['ñ'],
  c: ['ç'],
  l: ['ł'],
  s: ['ß'],
};

function capitalize(w: string): string {
  return w.charAt(0).toUpperCase() + w.slice(1);
}

/** 12,000 distinct pronounceable stems, ~8% of them with a diacritic. */
export const STEMS: readonly string[] = (() => {
  const r = prng(20261205);
  const seen = new Set<string>();
  const out: string[] = [];
  while (out.length < 12_000) {
    const syllables = r() < 0.7 ? 2 : 3;
    let w = '';
    for (let s = 0; s < syllables; s++) {
      w += ONSETS[Math.floor(r() * ONSETS.length)]! + NUCLEI[Math.floor(r() * NUCLEI.length)]!;
      if (s === syllables - 1 || r() < 0.3) w += CODAS[Math.floor(r() * CODAS.length)]!;
    }
    if (w.length < 4 || w.length > 11 || seen.has(w)) continue;
    seen.add(w);
    if (r() < 0.08) {
      const at = [...w].findIndex((ch, k) => k > 0 && ACCENTS[ch]);
      if (at > 0) {
        const options = ACCENTS[w[at]!]!;
        const accented = w.slice(0, at) + options[Math.floor(r() * options.length)]! + w.slice(at + 1);
        // 'ß' only reads right inside a word.
        if (!accented.startsWith('ß')) w = accented;
      }
    }
    out.push(capitalize(w));
  }
  return out;
})();

/** Words every book repeats: their trigrams are the common ones. */
export const REAL_WORDS: readonly string[] = [
  'North',
  'South',
  'East',
  'West',
  'Blue',
  'Red',
  'Green',
  'Golden',
  'Silver',
  'Black',
  'White',
  'Grey',
  'Global',
  'United',
  'National',
  'International',
  'Pacific',
  'Atlantic',
  'Alpine',
  'Nordic',
  'Royal',
  'Prime',
  'First',
  'Premier',
  'Summit',
  'Harbor',
  'River',
  'Lake',
  'Mountain',
  'Valley',
  'Stone',
  'Bright',
  'Clear',
  'Smart',
  'Rapid',
  'Swift',
  'True',
  'Open',
  'Next',
  'New',
  'Modern',
  'Classic',
  'Urban',
  'Coastal',
  'Central',
  'Metro',
  'Union',
  'Liberty',
  'Eagle',
  'Falcon',
  'Lion',
  'Tiger',
  'Wolf',
  'Bear',
  'Fox',
  'Oak',
  'Pine',
  'Cedar',
  'Maple',
  'Willow',
  'Birch',
  'Iron',
  'Steel',
  'Copper',
  'Crystal',
  'Diamond',
  'Pearl',
  'Ruby',
  'Emerald',
  'Sapphire',
  'Granite',
  'Cobalt',
  'Quantum',
  'Vertex',
  'Apex',
  'Zenith',
  'Horizon',
  'Orbit',
  'Nova',
  'Stellar',
  'Solar',
  'Lunar',
  'Polar',
  'Arctic',
  'Tropic',
  'Desert',
  'Ocean',
  'Island',
  'Bay',
  'Bridge',
  'Gate',
  'Tower',
  'Castle',
  'Crown',
  'Shield',
  'Anchor',
  'Compass',
  'Beacon',
  'Lighthouse',
  'Meridian',
  'Evergreen',
  'Sunrise',
  'Sunset',
  'Twilight',
  'Midnight',
  'Morning',
  'Spring',
  'Autumn',
  'Winter',
  'Summer',
  'Thunder',
  'Storm',
  'Rain',
  'Cloud',
  'Sky',
  'Star',
  'Planet',
  'Galaxy',
  'Cosmos',
  'Atlas',
  'Titan',
  'Orion',
  'Helix',
  'Nimbus',
  'Lumen',
  'Juniper',
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Stark',
  'Wayne',
  'Wonka',
  'Tyrell',
  'Cyberdyne',
  'Soylent',
  'Vandelay',
  'Sterling',
  'Cooper',
  'Draper',
  'Pioneer',
  'Frontier',
  'Heritage',
  'Legacy',
  'Keystone',
  'Cornerstone',
  'Landmark',
  'Benchmark',
  'Pinnacle',
  'Paramount',
  'Vanguard',
  'Sentinel',
  'Guardian',
  'Patriot',
  'Empire',
  'Dynasty',
  'Monarch',
  'Regent',
  'Noble',
  'Grand',
  'Great',
  'Little',
  'Big',
  'Old',
  'Young',
];

export const INDUSTRIES: readonly string[] = [
  'Logistics',
  'Analytics',
  'Systems',
  'Solutions',
  'Software',
  'Health',
  'Foods',
  'Robotics',
  'Media',
  'Capital',
  'Labs',
  'Energy',
  'Retail',
  'Consulting',
  'Partners',
  'Technologies',
  'Networks',
  'Industries',
  'Holdings',
  'Pharma',
  'Biotech',
  'Insurance',
  'Bank',
  'Motors',
  'Aerospace',
  'Textiles',
  'Chemicals',
  'Construction',
  'Engineering',
  'Design',
  'Studios',
  'Games',
  'Security',
  'Cloud',
  'Data',
  'Telecom',
  'Airlines',
  'Shipping',
  'Marine',
  'Mining',
  'Metals',
  'Beverages',
  'Brewing',
  'Farms',
  'Dental',
  'Clinics',
  'Education',
  'Academy',
  'Travel',
  'Hotels',
  'Realty',
  'Properties',
  'Ventures',
  'Finance',
  'Payments',
  'Solar',
  'Wind',
  'Water',
  'Apparel',
  'Furniture',
];

const LEGAL: readonly string[] = ['Inc', 'Ltd', 'LLC', 'GmbH', 'AG', 'SA', 'SARL', 'BV', 'Oy', 'AB', 'SpA', 'Pty Ltd', 'Co', 'Group', 'PLC', 'KG'];
const BRAND_SUFFIXES: readonly string[] = [
  'ix',
  'ly',
  'io',
  'ify',
  'era',
  'ora',
  'ex',
  'on',
  'us',
  'um',
  'ia',
  'eon',
  'ity',
  'ware',
  'hub',
  'works',
  'wise',
  'base',
  'stack',
  'ly',
  'go',
  'zen',
  'loop',
  'nest',
  'path',
  'grid',
  'mark',
  'lab',
  'fy',
  'able',
];

/** Common characters of Chinese company names. */
const HANZI = [
  ...'华盛星河蓝海云帆天启金桥青松东方中国新世纪恒大远航腾飞长城泰山黄河长江明珠万达宏图博雅智慧创新科信达通用联合国际环球富强永安瑞祥鑫源隆兴盈利康宁安泰嘉禾美好和谐光明未来辉煌锦绣前程如意吉祥顺风开元浩然正德厚德载物龙凤麒麟虎豹鹏程九州四海八方五洲三江六合七星百川千山万里晨曦朝阳晓月银河北斗紫金碧水丹青翠竹梅兰菊松柏杉桦枫',
];
const HANZI_INDUSTRY = ['科技', '网络', '信息技术', '贸易', '物流', '电子', '软件', '医药', '食品', '能源', '建设', '传媒', '教育', '金融', '投资'];
const HANZI_LEGAL = ['有限公司', '集团', '股份有限公司', '控股有限公司'];

/** Template slots in every block of 20 rows: exactly one Chinese name (5%). */
const SLOTS = ['si', 'rsi', 'sb', 'si', 'sil', 'rsi', 'si', 'sb', 'ss', 'si', 'zh', 'rsi', 'sil', 'si', 'sb', 'rs', 'si', 'sil', 'rsi', 'sb'] as const;
type Template = (typeof SLOTS)[number];
const SLOT_RANK = SLOTS.map((t, k) => SLOTS.slice(0, k).filter((x) => x === t).length);
const SLOT_COUNT = Object.fromEntries(SLOTS.map((t) => [t, SLOTS.filter((x) => x === t).length])) as Record<Template, number>;

const SPACE: Record<Template, number[]> = {
  si: [STEMS.length, INDUSTRIES.length],
  rsi: [REAL_WORDS.length, STEMS.length, INDUSTRIES.length],
  sb: [STEMS.length, BRAND_SUFFIXES.length, 2],
  sil: [STEMS.length, INDUSTRIES.length, LEGAL.length],
  ss: [STEMS.length, STEMS.length, LEGAL.length],
  rs: [REAL_WORDS.length, STEMS.length, 3],
  zh: [HANZI.length, HANZI.length, HANZI.length + 1, HANZI_INDUSTRY.length, HANZI_LEGAL.length],
};

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
/** Per template: the size of its space and a multiplier coprime to it. */
const PERMUTATION = Object.fromEntries(
  (Object.keys(SPACE) as Template[]).map((t) => {
    const size = SPACE[t].reduce((a, b) => a * b, 1);
    let mult = 2_654_435_761 % size;
    while (gcd(mult, size) !== 1) mult++;
    return [t, { size, mult: BigInt(mult), bigSize: BigInt(size) }];
  }),
) as Record<Template, { size: number; mult: bigint; bigSize: bigint }>;

/** j → a distinct point of the template's space (multiplication by a unit modulo its size). */
function pick(template: Template, j: number): number[] {
  const radices = SPACE[template];
  const p = PERMUTATION[template];
  let x = Number((BigInt(j % p.size) * p.mult + 12_345n) % p.bigSize);
  return radices.map((r) => {
    const d = x % r;
    x = Math.floor(x / r);
    return d;
  });
}

function freshName(i: number): string {
  const block = Math.floor(i / SLOTS.length);
  const slot = i % SLOTS.length;
  const template = SLOTS[slot]!;
  const j = block * SLOT_COUNT[template] + SLOT_RANK[slot]!;
  const d = pick(template, j);
  switch (template) {
    case 'si':
      return `${STEMS[d[0]!]} ${INDUSTRIES[d[1]!]}`;
    case 'rsi':
      return `${REAL_WORDS[d[0]!]} ${STEMS[d[1]!]} ${INDUSTRIES[d[2]!]}`;
    case 'sb':
      return `${STEMS[d[0]!]}${BRAND_SUFFIXES[d[1]!]}${d[2] ? '' : ' Group'}`;
    case 'sil':
      return `${STEMS[d[0]!]} ${INDUSTRIES[d[1]!]} ${LEGAL[d[2]!]}`;
    case 'ss':
      return `${STEMS[d[0]!]} & ${STEMS[d[1]!]} ${LEGAL[d[2]!]}`;
    case 'rs':
      return `${REAL_WORDS[d[0]!]} ${STEMS[d[1]!]}${['', ' International', ' Co'][d[2]!]}`;
    case 'zh':
      return `${HANZI[d[0]!]}${HANZI[d[1]!]}${d[2]! < HANZI.length ? HANZI[d[2]!] : ''}${HANZI_INDUSTRY[d[3]!]}${HANZI_LEGAL[d[4]!]}`;
  }
}

/** ~1.4% of rows reuse an earlier customer's name: returns that row, or null. */
function sharedWith(i: number): number | null {
  if (i < 10) return null;
  const h = mix(i * 2 + 1);
  if (h % 1000 >= 14) return null;
  return i - 1 - (mix(h) % Math.min(i, 5_000));
}

export function nameAt(i: number): string {
  let at = i;
  for (let hops = 0; hops < 8; hops++) {
    const earlier = sharedWith(at);
    if (earlier === null) break;
    at = earlier;
  }
  return freshName(at);
}

function slug(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/ß/g, 'ss')
    .replace(/ø/g, 'o')
    .replace(/ł/g, 'l')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

const TLDS = ['com', 'com', 'com', 'io', 'de', 'co.uk', 'fr', 'net', 'cn', 'nl', 'se', 'es'];
const PLANS = ['starter', 'pro', 'enterprise'];
const CURRENCIES = ['USD', 'USD', 'EUR', 'GBP', 'CNY'];

export interface BookCustomer {
  externalId: string;
  name: string;
  /** Unique per customer; ~8% have none. */
  domain: string | null;
  plan: string | null;
  arr: string | null;
  currency: string | null;
  renewalDate: string | null;
  ownerSlackId: string | null;
  team: string | null;
}

/** Members the book's owner column refers to (seed them before importing). */
export const BOOK_OWNERS = ['U0BOOK1', 'U0BOOK2', 'U0BOOK3', 'U0BOOK4'] as const;
export const BOOK_TEAM = 'book';

export function externalIdAt(i: number): string {
  return `ACC-${String(i).padStart(7, '0')}`;
}

export function customerAt(i: number): BookCustomer {
  const name = nameAt(i);
  const h = mix(i ^ 0x5bd1e995);
  const ascii = slug(name);
  const domain = h % 100 < 8 ? null : ascii ? `${ascii.slice(0, 14)}${i.toString(36)}.${TLDS[h % TLDS.length]}` : `zh${i.toString(36)}.cn`;
  const month = 1 + (h % 12);
  return {
    externalId: externalIdAt(i),
    name,
    domain,
    plan: h % 7 === 0 ? null : PLANS[h % PLANS.length]!,
    arr: h % 11 === 0 ? null : String(1_000 + (h % 400) * 250),
    currency: CURRENCIES[(h >>> 3) % CURRENCIES.length]!,
    renewalDate: h % 5 === 0 ? null : `2027-${String(month).padStart(2, '0')}-${String(1 + ((h >>> 5) % 28)).padStart(2, '0')}`,
    ownerSlackId: h % 10 < 3 ? BOOK_OWNERS[(h >>> 7) % BOOK_OWNERS.length]! : null,
    team: h % 10 < 3 ? BOOK_TEAM : null,
  };
}

export const CUSTOMER_HEADER = 'external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team';

function csvField(v: string | null): string {
  if (v === null) return '';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function customerCsvLine(c: BookCustomer): string {
  return [c.externalId, c.name, c.domain, c.plan, c.arr, c.currency, c.renewalDate, c.ownerSlackId, c.team].map(csvField).join(',');
}

/** The book as CSV text in ~1 MB chunks (header first): stream it to a file or straight into an import. */
export async function* bookCsv(count: number, from = 0): AsyncGenerator<string> {
  let buf = `${CUSTOMER_HEADER}\n`;
  for (let i = from; i < from + count; i++) {
    buf += `${customerCsvLine(customerAt(i))}\n`;
    if (buf.length > 1 << 20) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

// ───────────────────────── the query mix ─────────────────────────

export type QueryKind = 'exact' | 'prefix' | 'typo' | 'domain' | 'miss';

/** Share of each kind in the lookup mix. */
export const QUERY_MIX: Readonly<Record<QueryKind, number>> = { exact: 0.3, prefix: 0.2, typo: 0.2, domain: 0.15, miss: 0.15 };

export interface BookQuery {
  kind: QueryKind;
  text: string;
  /** The customer the query was drawn from (null for misses). */
  from: number | null;
}

function stripAccents(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}/gu, '');
}

const CJK = /\p{Script=Han}/u;
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** One-character edit (substitute, delete, insert or swap) away from a word character. */
function typo(name: string, r: () => number): string {
  const chars = [...name.toLowerCase()];
  const positions = chars.map((ch, k) => (/[\p{L}\p{N}]/u.test(ch) ? k : -1)).filter((k) => k >= 0);
  const at = positions[Math.floor(r() * positions.length)]!;
  const cjk = CJK.test(chars[at]!);
  const other = () => (cjk ? HANZI[Math.floor(r() * HANZI.length)]! : LETTERS[Math.floor(r() * LETTERS.length)]!);
  const op = cjk ? 0 : Math.floor(r() * 4);
  if (op === 0) {
    let c = other();
    while (c === chars[at]) c = other();
    chars[at] = c;
  } else if (op === 1 && positions.length > 4) chars.splice(at, 1);
  else if (op === 2) chars.splice(at, 0, other());
  else if (at + 1 < chars.length && chars[at + 1] !== ' ' && chars[at + 1] !== chars[at]) [chars[at], chars[at + 1]] = [chars[at + 1]!, chars[at]!];
  else chars[at] = chars[at] === 'x' ? 'q' : 'x';
  return chars.join('');
}

/** The start of a name a person would type: a word and the beginning of the next, or a few characters. */
function prefix(name: string, r: () => number): string {
  if (CJK.test(name)) return [...name].slice(0, 2 + Math.floor(r() * 2)).join('');
  const words = name.split(' ');
  if (words.length > 1 && r() < 0.6) {
    const next = words[1]!;
    return `${words[0]} ${next.slice(0, Math.max(2, Math.min(next.length - 1, 3 + Math.floor(r() * 3))))}`.toLowerCase();
  }
  const first = words[0]!;
  return first.slice(0, Math.max(3, Math.min(first.length, 4 + Math.floor(r() * 3)))).toLowerCase();
}

/** A name nobody in the book has: syllables the stems never use. */
function nonsense(r: () => number): string {
  const on = ['qu', 'zv', 'xr', 'vj', 'kz', 'wq', 'gx', 'jh'];
  const nu = ['a', 'e', 'i', 'o', 'u', 'y'];
  const word = () =>
    capitalize(
      `${on[Math.floor(r() * on.length)]}${nu[Math.floor(r() * nu.length)]}${on[Math.floor(r() * on.length)]}${nu[Math.floor(r() * nu.length)]}${'xqz'[Math.floor(r() * 3)]}`,
    );
  return r() < 0.5 ? word() : `${word()} ${word()}`;
}

/**
 * `count` lookups over a book of `size` customers, in QUERY_MIX proportions,
 * interleaved in a seeded random order. Exact names come as typed by a person:
 * often lower case, sometimes without their accents.
 */
export function queryMix(size: number, count: number, seed = 11): BookQuery[] {
  const r = prng(seed);
  const kinds: QueryKind[] = [];
  for (const [kind, share] of Object.entries(QUERY_MIX) as [QueryKind, number][]) for (let k = 0; k < Math.round(share * count); k++) kinds.push(kind);
  for (let k = kinds.length - 1; k > 0; k--) {
    const s = Math.floor(r() * (k + 1));
    [kinds[k], kinds[s]] = [kinds[s]!, kinds[k]!];
  }
  return kinds.map((kind) => {
    if (kind === 'miss') return { kind, text: nonsense(r), from: null };
    let i = Math.floor(r() * size);
    let c = customerAt(i);
    if (kind === 'domain') {
      while (!c.domain) {
        i = (i + 1) % size;
        c = customerAt(i);
      }
      return { kind, text: c.domain!, from: i };
    }
    if (kind === 'exact') {
      const roll = r();
      return { kind, text: roll < 0.5 ? c.name.toLowerCase() : roll < 0.7 ? stripAccents(c.name) : c.name, from: i };
    }
    if (kind === 'prefix') return { kind, text: prefix(c.name, r), from: i };
    return { kind, text: typo(c.name, r), from: i };
  });
}
