import { BAND_EMOJI, formatMoney, shortDate } from '../customers/format.js';
import { CHURN_REASON_LABELS, formatRate } from '../renewals/renewal.rules.js';
import { sparkline } from '../scoring/sparkline.js';
import { capBlocks, context, header, LIMITS, rawCell, section, table, userCell, type Block, type TableCell } from '../slack/blocks.js';
import { channelLink, escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import type { CustomerRef, DigestModel, Section } from './digest.rules.js';

/**
 * The digest as Block Kit (pure). The accounts that need a look — turned red,
 * biggest movers (with a unicode sparkline of their trend), renewals due,
 * overdue tier-A follow-ups, unowned accounts, renewals passed without an
 * outcome — are one table, a row per account, so a manager scans one column
 * of names. Disputes, feedback and failed deliveries are sentences and stay
 * compact mrkdwn lines. Slack shows one table per message (at most 100 rows);
 * what does not fit is counted. The message's `text` carries the same lines
 * for notifications and clients that cannot show a table.
 */
const SECTION_BUDGET = LIMITS.sectionText - 100;
const TABLE_ROWS = LIMITS.tableRows - 1;

const who = (slackId: string | null) => (slackId ? mention(slackId) : '_unowned_');
const name = (n: string) => `*${safeText(n, 80)}*`;
const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);
const days = (n: number) => (n === 0 ? 'today' : n === 1 ? 'tomorrow' : `in ${n} days`);
const ago = (n: number) => `${n} day${n === 1 ? '' : 's'} ago`;

/** One account row: why it is listed, and what to know at a glance. */
interface AccountRow {
  why: string;
  account: CustomerRef;
  health: string;
  trend: string;
  detail: string;
}

const COLUMNS = ['Why', 'Account', 'Health', 'Trend', 'Detail', 'ARR', 'Owner'];

function accountRows(m: DigestModel): { groups: { why: string; rows: AccountRow[]; more: number }[] } {
  const group = <T extends CustomerRef>(why: string, sec: Section<T>, row: (item: T) => Omit<AccountRow, 'why' | 'account'>) => ({
    why,
    rows: sec.items.map((item) => ({ why, account: item, ...row(item) })),
    more: sec.more,
  });
  return {
    groups: [
      group('🔴 Turned red', m.turnedRed, (c) => ({
        health: c.previousHealth === null || c.previousHealth === undefined ? `${c.health} (first score)` : `${c.previousHealth} → ${c.health}`,
        trend: '',
        detail: 'entered the red band',
      })),
      group('📈 Mover', m.movers, (c) => ({
        health: `${c.health} (${signed(c.delta)})`,
        trend: sparkline(c.trend, { scale: 'health', maxWidth: 14 }),
        detail: c.delta < 0 ? 'falling' : 'rising',
      })),
      group('🔔 Renewal', m.renewalsSoon, (r) => ({
        health: r.band ? `${BAND_EMOJI[r.band]} ${r.health}` : '–',
        trend: '',
        detail: `${shortDate(r.renewalDate)} (${days(r.daysLeft)})`,
      })),
      group('⏰ Overdue, tier A', m.overdueTierA, (c) => ({
        health: '',
        trend: '',
        detail: c.daysSinceTouch === null ? 'never touched' : `no touch in ${c.daysSinceTouch} days`,
      })),
      group('🙋 Unowned', m.unowned, () => ({ health: '', trend: '', detail: 'no owner: claim it' })),
      group('⌛ No outcome', m.passedNoOutcome, (r) => ({
        health: '',
        trend: '',
        detail: `renewal was due ${shortDate(r.renewalDate)} (${ago(r.daysAgo)}) — mark it Renewed or Churned`,
      })),
    ],
  };
}

function rowCells(r: AccountRow): TableCell[] {
  const a = r.account;
  return [
    rawCell(r.why),
    rawCell(a.name),
    rawCell(r.health),
    rawCell(r.trend),
    rawCell(r.detail),
    rawCell(a.arr === null ? '' : formatMoney(a.arr, a.currency)),
    a.ownerSlackId ? userCell(a.ownerSlackId) : rawCell('unowned'),
  ];
}

function rowLine(r: AccountRow): string {
  const a = r.account;
  return [r.why, a.name, r.health, r.trend, r.detail, a.arr === null ? '' : formatMoney(a.arr, a.currency), a.ownerSlackId ? `@${a.ownerSlackId}` : 'unowned']
    .filter((x) => x !== '')
    .join(' · ');
}

function sectionBlock<T>(title: string, sec: Section<T>, line: (item: T) => string): Block | null {
  if (sec.items.length === 0) return null;
  const head = `*${title}*`;
  const lines: string[] = [];
  let used = head.length;
  let dropped = 0;
  for (const item of sec.items) {
    const l = `• ${line(item)}`;
    if (used + l.length + 1 > SECTION_BUDGET) {
      dropped++;
      continue;
    }
    lines.push(l);
    used += l.length + 1;
  }
  const more = sec.more + dropped;
  if (more > 0) lines.push(`_…and ${more} more_`);
  return section([head, ...lines].join('\n'));
}

export function digestTitle(teamName: string, localDate: string): string {
  const d = new Date(`${localDate}T12:00:00Z`);
  const day = d.toLocaleDateString('en-US', { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
  return `${teamName} digest — ${day}`;
}

function renewalRateLine(m: DigestModel): string {
  const rate = m.renewalRate;
  if (rate.decided === 0) return `Renewal rate ${rate.quarter}: no renewals decided yet`;
  const reasons = rate.reasons.length
    ? ` · churn reasons: ${rate.reasons.map((r) => `${r.reason === 'unknown' ? 'unknown' : CHURN_REASON_LABELS[r.reason]} ${r.count}`).join(', ')}`
    : '';
  return `Renewal rate ${rate.quarter}: *${formatRate(rate.rate!)}* (${rate.renewed} of ${rate.decided} decided)${reasons}`;
}

/** The quarter's open renewals as forecast: expected renewal rate and ARR at risk with its interval; null without a forecast. */
function renewalForecastLine(m: DigestModel): string | null {
  const f = m.renewalForecast;
  if (!f) return null;
  if (f.open === 0) return `Renewal forecast ${f.quarter}: no open renewals left`;
  return (
    `Renewal forecast ${f.quarter}: *${formatRate(f.expectedRate ?? 0)}* expected to renew (${f.open} open) · ARR at risk ${formatMoney(f.arrAtRisk, null)} ` +
    `(${Math.round(f.level * 100)}%: ${formatMoney(f.low, null)}–${formatMoney(f.high, null)})`
  );
}

export function digestMessage(m: DigestModel, team: { name: string }): { text: string; blocks: Block[] } {
  const title = digestTitle(team.name, m.localDate);
  const rateLine = renewalRateLine(m);
  const forecastLine = renewalForecastLine(m);

  if (m.quiet) {
    const line = `✅ ${safeText(title, 200)}: nothing needs attention today. ${rateLine}.${forecastLine ? ` ${forecastLine}.` : ''}`;
    return { text: `${title}: nothing needs attention today.`, blocks: [section(line)] };
  }

  // The table takes the rows that fit, in section order; the rest are counted per section.
  const { groups } = accountRows(m);
  const shown: AccountRow[] = [];
  const notShown: string[] = [];
  const listed = groups.reduce((n, g) => n + g.rows.length + g.more, 0);
  for (const g of groups) {
    const room = Math.max(0, TABLE_ROWS - shown.length);
    shown.push(...g.rows.slice(0, room));
    const more = g.more + Math.max(0, g.rows.length - room);
    if (more > 0) notShown.push(`${more} more ${g.why.replace(/^\S+ /, '').toLowerCase()}`);
  }

  const blocks: (Block | null)[] = [
    header(`📋 ${title}`),
    shown.length ? section(`*Accounts to look at* (${listed})`) : null,
    shown.length ? table(COLUMNS, shown.map(rowCells), ['left', 'left', 'right', 'left', 'left', 'right', 'left']) : null,
    notShown.length ? context(`…and ${notShown.join(', ')}`) : null,
    sectionBlock(
      '⚖️ Open disputes',
      m.disputes,
      (d) =>
        `${d.escalated ? '🚨 *escalated* ' : ''}${name(d.customerName)}: ${who(d.claimantSlackId)} claims it from ${who(d.ownerSlackId)}, open ${d.ageDays} day${d.ageDays === 1 ? '' : 's'}`,
    ),
    sectionBlock(
      '💬 Feedback since yesterday',
      m.feedback,
      (f) => `${escapeMrkdwn(f.kind)} on ${name(f.customerName)} by ${mention(f.authorSlackId)}: “${safeText(f.text.replace(/\s+/g, ' '), 160)}”`,
    ),
    sectionBlock(
      '⚠️ Notifications that failed',
      m.failed,
      (f) =>
        `${escapeMrkdwn(f.kind.replace(/_/g, ' '))} to ${/^[UW]/.test(f.channelId) ? mention(f.channelId) : channelLink(f.channelId)}: \`${escapeMrkdwn(f.reason ?? 'unknown')}\``,
    ),
    context(forecastLine ? `${rateLine}\n${forecastLine}` : rateLine),
  ];
  const kept = blocks.filter((b): b is Block => b !== null);
  const counts = [m.turnedRed, m.renewalsSoon, m.overdueTierA, m.disputes].map((s) => s.items.length + s.more);
  const summary = `${title}: ${counts[0]} turned red, ${counts[1]} renewals in 14 days, ${counts[2]} overdue tier-A follow-ups, ${counts[3]} open disputes`;
  const lines = [summary, ...shown.map(rowLine), ...(notShown.length ? [`…and ${notShown.join(', ')}`] : [])].join('\n');
  const text = safeText(lines.slice(0, LIMITS.fallbackText), LIMITS.fallbackText);
  return { text, blocks: capBlocks(kept) };
}
