import { LIMITS, section, context, type Block, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';

/**
 * What every ownership view shares: replies to the person acting, the
 * answer for strangers and refusals, notices to the people affected.
 * Customer names and reasons are user-supplied: always escaped. The views
 * of each flow are in claim/dispute/assign/history/book .blocks.ts.
 */

/** A customer name, bold and length-capped. */
export const boldName = (n: string) => `*${safeText(n, 200)}*`;
export const ephemeral = (text: string, blocks: Block[]): Reply => ({ text: safeText(text, LIMITS.fallbackText), blocks, responseType: 'ephemeral' });
export const mentionList = (ids: readonly string[]) => (ids.length ? ids.map((id) => mention(id)).join(', ') : '');

export const ADD_MEMBER_HINT = (slackUserId: string) => `retain member add ${slackUserId} --team <team> --role rep`;

/** A Slack user who is not in `members`: what to do about it. */
export function notMemberReply(slackUserId: string): Reply {
  const cmd = ADD_MEMBER_HINT(/^[UW][A-Z0-9]+$/.test(slackUserId) ? slackUserId : 'YOUR_SLACK_ID');
  return ephemeral(`You are not set up in retain yet. Ask an admin to add you: ${cmd}`, [
    section(`:wave: You are not set up in retain yet. Ask an admin to add you:\n\`${escapeMrkdwn(cmd)}\``),
    context('Anyone can still look customers up with `/customer <name>`.'),
  ]);
}

export function refusalReply(problem: string, whoCan: string): Reply {
  return ephemeral(`${problem} ${whoCan}`, [section(`:no_entry: ${problem}\n${whoCan}`)]);
}

/** "A manager of EMEA (@m) or an admin". */
export function managersPhrase(teamName: string | null, managers: readonly string[]): string {
  const team = teamName ? ` of ${escapeMrkdwn(teamName)}` : '';
  return managers.length ? `a manager${team} (${mentionList(managers)}) or an admin` : `a manager${team} or an admin`;
}

/** A direct message to someone an ownership change concerns (posted via the outbox). */
export interface Notice {
  text: string;
  blocks: Block[];
}

export function notice(mrkdwn: string, extra: Block[] = []): Notice {
  return { text: safeText(mrkdwn.replace(/[*_]/g, ''), 300), blocks: [section(mrkdwn), ...extra] };
}
