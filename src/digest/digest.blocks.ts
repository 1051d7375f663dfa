import { BAND_EMOJI, formatMoney, shortDate } from '../customers/format.js';
import { CHURN_REASON_LABELS, formatRate } from '../renewals/renewal.rules.js';
import { sparkline } from '../scoring/sparkline.js';
import { capBlocks, context, header, LIMITS, section, type Block } from '../slack/blocks.js';
import { channelLink, escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import type { DigestModel, Section } from './digest.rules.js';

/**
 * The digest as Block Kit (pure): compact lines, one section block per topic,
 * small multiples with unicode sparklines for score trends. Every section stays
 * under Slack's 3,000 characters (lines that don't fit join "and N more"), and
 * the message under 50 blocks.
 */
const SECTION_BUDGET = LIMITS.sectionText - 100;

const who = (slackId: string | null) => (slackId ? mention(slackId) : '_unowned_');
const name = (n: string) => `*${safeText(n, 80)}*`;
const money = (arr: number | null, currency: string | null) => (arr === null ? '' : ` · ${formatMoney(arr, currency)}`);
const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);

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

export function digestMessage(m: DigestModel, team: { name: string }): { text: string; blocks: Block[] } {
  const title = digestTitle(team.name, m.localDate);
  const rate = m.renewalRate;
  const rateLine =
    rate.decided > 0
      ? `Renewal rate ${rate.quarter}: *${formatRate(rate.rate!)}* (${rate.renewed} of ${rate.decided} decided)${
          rate.reasons.length ? ` · churn reasons: ${rate.reasons.map((r) => `${r.reason === 'unknown' ? 'unknown' : CHURN_REASON_LABELS[r.reason]} ${r.count}`).join(', ')}` : ''
        }`
      : `Renewal rate ${rate.quarter}: no renewals decided yet`;
  const f = m.renewalForecast;
  const forecastLine = !f
    ? null
    : f.open === 0
      ? `Renewal forecast ${f.quarter}: no open renewals left`
      : `Renewal forecast ${f.quarter}: *${formatRate(f.expectedRate ?? 0)}* expected to renew (${f.open} open) · ARR at risk ${formatMoney(f.arrAtRisk, null)} ` +
        `(${Math.round(f.level * 100)}%: ${formatMoney(f.low, null)}–${formatMoney(f.high, null)})`;

  if (m.quiet) {
    const line = `✅ ${safeText(title, 200)}: nothing needs attention today. ${rateLine}.${forecastLine ? ` ${forecastLine}.` : ''}`;
    return { text: `${title}: nothing needs attention today.`, blocks: [section(line)] };
  }

  const blocks: (Block | null)[] = [
    header(`📋 ${title}`),
    sectionBlock('🔴 Turned red', m.turnedRed, (c) => `${name(c.name)} ${c.previousHealth === null || c.previousHealth === undefined ? `now ${c.health} (first score)` : `${c.previousHealth} → ${c.health}`}${money(c.arr, c.currency)} · ${who(c.ownerSlackId)}`),
    sectionBlock('📈 Biggest movers', m.movers, (c) => `\`${sparkline(c.trend, { scale: 'health', maxWidth: 14 })}\` ${name(c.name)} ${c.health} (${signed(c.delta)}) · ${who(c.ownerSlackId)}`),
    sectionBlock('🔔 Renewals in the next 14 days', m.renewalsSoon, (r) =>
      `${name(r.name)} ${shortDate(r.renewalDate)} (${r.daysLeft === 0 ? 'today' : r.daysLeft === 1 ? 'tomorrow' : `in ${r.daysLeft} days`})${r.band ? ` · ${BAND_EMOJI[r.band]} ${r.health}` : ''}${money(r.arr, r.currency)} · ${who(r.ownerSlackId)}`,
    ),
    sectionBlock('⏰ Overdue follow-ups, tier A', m.overdueTierA, (c) =>
      `${name(c.name)} ${c.daysSinceTouch === null ? 'never touched' : `no touch in ${c.daysSinceTouch} days`}${money(c.arr, c.currency)} · ${who(c.ownerSlackId)}`,
    ),
    sectionBlock('⚖️ Open disputes', m.disputes, (d) =>
      `${d.escalated ? '🚨 *escalated* ' : ''}${name(d.customerName)}: ${who(d.claimantSlackId)} claims it from ${who(d.ownerSlackId)}, open ${d.ageDays} day${d.ageDays === 1 ? '' : 's'}`,
    ),
    sectionBlock('🙋 Unowned accounts', m.unowned, (c) => `${name(c.name)}${money(c.arr, c.currency)}`),
    sectionBlock('💬 Feedback since yesterday', m.feedback, (f) => `${escapeMrkdwn(f.kind)} on ${name(f.customerName)} by ${mention(f.authorSlackId)}: “${safeText(f.text.replace(/\s+/g, ' '), 160)}”`),
    sectionBlock('⌛ Renewals passed without an outcome', m.passedNoOutcome, (r) =>
      `${name(r.name)} renewal was due ${shortDate(r.renewalDate)} (${r.daysAgo} day${r.daysAgo === 1 ? '' : 's'} ago)${money(r.arr, r.currency)} · ${who(r.ownerSlackId)} — mark it Renewed or Churned`,
    ),
    sectionBlock('⚠️ Notifications that failed', m.failed, (f) => `${escapeMrkdwn(f.kind.replace(/_/g, ' '))} to ${/^[UW]/.test(f.channelId) ? mention(f.channelId) : channelLink(f.channelId)}: \`${escapeMrkdwn(f.reason ?? 'unknown')}\``),
    context(forecastLine ? `${rateLine}\n${forecastLine}` : rateLine),
  ];
  const kept = blocks.filter((b): b is Block => b !== null);
  const counts = [m.turnedRed, m.renewalsSoon, m.overdueTierA, m.disputes].map((s) => s.items.length + s.more);
  const text = `${title}: ${counts[0]} turned red, ${counts[1]} renewals in 14 days, ${counts[2]} overdue tier-A follow-ups, ${counts[3]} open disputes`;
  return { text, blocks: capBlocks(kept) };
}
