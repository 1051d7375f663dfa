import { BAND_EMOJI, formatMoney, relativeDays, shortDate } from '../customers/format.js';
import { capBlocks, context, divider, header, LIMITS, section, type Block } from '../slack/blocks.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import { ADD_MEMBER_HINT } from '../ownership/ownership.blocks.js';
import { HOME_SECTION_CAP, RENEWAL_WINDOW_DAYS, type HomeAccount, type HomeSections } from './home.rules.js';

/** Pure App Home views (type 'home', at most 100 blocks). Customer names are escaped. */

export interface HomeDispute {
  customerName: string;
  claimantSlackId: string;
  ownerSlackId: string | null;
  openedAt: Date;
  escalatedAt: Date | null;
  role: 'claimant' | 'owner' | 'decider';
}

const name = (n: string) => `*${safeText(n, 120)}*`;
const LINES_PER_SECTION = 8;

function score(a: HomeAccount): string {
  return a.health !== null && a.band ? `${BAND_EMOJI[a.band]} ${a.health}` : '⚪ –';
}

/** Lines grouped into sections of a few lines each, the first `cap` shown, the rest counted. */
function listSection(title: string, lines: string[], empty: string, cap = HOME_SECTION_CAP): Block[] {
  const blocks: Block[] = [section(`*${title}*`)];
  if (lines.length === 0) {
    blocks.push(context(empty));
    return blocks;
  }
  const shown = lines.slice(0, cap);
  for (let i = 0; i < shown.length; i += LINES_PER_SECTION) blocks.push(section(shown.slice(i, i + LINES_PER_SECTION).join('\n')));
  if (lines.length > shown.length) blocks.push(context(`…and ${lines.length - shown.length} more`));
  return blocks;
}

export function homeView(o: { slackUserId: string; teamName: string; sections: HomeSections; disputes: HomeDispute[]; now: Date }): {
  type: 'home';
  blocks: Block[];
} {
  const { sections: s, now } = o;
  const blocks: Block[] = [
    header('Your book of business'),
    context(
      `${mention(o.slackUserId)} · ${escapeMrkdwn(o.teamName)} · ${s.total} account${s.total === 1 ? '' : 's'} · ${s.atRisk.length} at risk · ${s.renewals.length} renewing in ${RENEWAL_WINDOW_DAYS} days · ${s.overdue.length} follow-up${s.overdue.length === 1 ? '' : 's'} overdue`,
    ),
    divider,
  ];
  blocks.push(
    ...listSection(
      ':rotating_light: At risk — riskiest first',
      s.atRisk.map((a) => `${score(a)} ${name(a.name)}${a.tier ? ` · tier ${a.tier}` : ''} · ARR ${formatMoney(a.arr, a.currency)}`),
      'None of your accounts is red or yellow.',
    ),
  );
  blocks.push(divider);
  blocks.push(
    ...listSection(
      `:calendar: Renewals in the next ${RENEWAL_WINDOW_DAYS} days`,
      s.renewals.map(
        (a) => `${shortDate(a.renewalDate!)} (${relativeDays(a.renewalDate!, now)}) · ${name(a.name)} · ${score(a)} · ARR ${formatMoney(a.arr, a.currency)}`,
      ),
      `No renewals in the next ${RENEWAL_WINDOW_DAYS} days.`,
    ),
  );
  blocks.push(divider);
  blocks.push(
    ...listSection(
      ':telephone_receiver: Overdue follow-ups',
      s.overdue.map(
        (a) =>
          `${name(a.name)} · tier ${a.tier ?? '–'} · ${a.daysSinceTouch === null ? 'never touched' : `last touch ${a.daysSinceTouch} days ago`} (every ${a.cadenceDays} days expected)`,
      ),
      'Every account has been touched within its cadence.',
    ),
  );
  blocks.push(context('Log a touch with `/customer log <customer> call|meeting|email|qbr|note <what happened>`'));
  blocks.push(divider);
  blocks.push(
    ...listSection(
      ':scales: Open ownership disputes',
      o.disputes.map((d) => {
        const role =
          d.role === 'claimant'
            ? 'your claim'
            : d.role === 'owner'
              ? `claimed from you by ${mention(d.claimantSlackId)}`
              : `${mention(d.claimantSlackId)} claims it${d.ownerSlackId ? ` from ${mention(d.ownerSlackId)}` : ''} — awaiting a manager`;
        return `${name(d.customerName)} · ${role} · opened ${relativeDays(d.openedAt, now)}${d.escalatedAt ? ' · :warning: escalated' : ''}`;
      }),
      'No open disputes involve you.',
      10,
    ),
  );
  return { type: 'home', blocks: capBlocks(blocks, LIMITS.blocksPerView) };
}

export function welcomeView(slackUserId: string): { type: 'home'; blocks: Block[] } {
  return {
    type: 'home',
    blocks: [
      header('Welcome to retain'),
      section(
        'retain tells your account team who is slipping and why: health scores with their reasons, churn warnings, renewal reminders, and ownership settled in Slack.',
      ),
      section(
        `You are not set up yet. Ask an admin to add you:\n\`${escapeMrkdwn(ADD_MEMBER_HINT(slackUserId))}\`\nOnce added, this tab shows your accounts at risk, renewals due and overdue follow-ups.`,
      ),
      context('Anyone can look a customer up with `/customer <name>`.'),
    ],
  };
}

export function unavailableView(): { type: 'home'; blocks: Block[] } {
  return {
    type: 'home',
    blocks: [header('Your book of business'), section(':hourglass: retain cannot reach its database right now. Open this tab again in a moment.')],
  };
}
