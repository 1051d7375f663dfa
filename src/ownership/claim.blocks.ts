import { relativeDays } from '../customers/format.js';
import { actions, button, context, section, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn, mention } from '../slack/escape.js';
import { ACTIONS } from '../slack/ids.js';
import { boldName, ephemeral, managersPhrase, refusalReply } from './ownership.blocks.js';

/** Pure replies to `/customer claim`: taken at once, refused, or turned into a dispute. */

export function claimTakenReply(customerName: string, customerId: string): Reply {
  return ephemeral(`You own ${customerName} now.`, [
    section(`:white_check_mark: You own ${boldName(customerName)} now. The change is in \`/customer history\`.`),
    actions(undefined, button(ACTIONS.openCard, 'Open card', customerId)),
  ]);
}

export function alreadyOwnerReply(customerName: string): Reply {
  return ephemeral(`You already own ${customerName}.`, [section(`You already own ${boldName(customerName)} — nothing to claim.`)]);
}

export function otherTeamClaimReply(customerName: string, teamName: string, managers: readonly string[]): Reply {
  return refusalReply(
    `${boldName(customerName)} belongs to team *${escapeMrkdwn(teamName)}*; only members of ${escapeMrkdwn(teamName)} can claim it.`,
    `To move it, ask ${managersPhrase(teamName, managers)} to \`/customer assign\` it.`,
  );
}

export function disputeAlreadyOpenReply(customerName: string, d: { claimantSlackId: string; openedAt: Date; mine: boolean }, now: Date): Reply {
  const text = d.mine
    ? `Your claim on ${boldName(customerName)} is already waiting for a manager (opened ${relativeDays(d.openedAt, now)}).`
    : `There is already an open ownership dispute on ${boldName(customerName)}: ${mention(d.claimantSlackId)}'s claim, opened ${relativeDays(d.openedAt, now)}. A manager has to decide it before anyone else can claim.`;
  return ephemeral(text, [section(`:hourglass: ${text}`)]);
}

export function disputeOpenedReply(
  customerName: string,
  o: {
    because: 'owned' | 'freeze';
    ownerSlackId: string | null;
    channelId: string | null;
    daysToRenewal: number | null;
    freezeDays: number;
    isManager: boolean;
  },
): Reply {
  const where = o.channelId ? ` in <#${o.channelId}>` : ' with your managers';
  const why =
    o.because === 'owned'
      ? `${boldName(customerName)} is owned by ${mention(o.ownerSlackId)}, so I opened an ownership dispute${where}.`
      : `${boldName(customerName)} renews ${o.daysToRenewal === 0 ? 'today' : `in ${o.daysToRenewal} days`} — inside the ${o.freezeDays}-day renewal freeze — so claiming it needs a manager's approval. I opened a dispute${where}.`;
  const lines = [`:scales: ${why}`, 'A manager will approve or reject it, and you will be told the outcome.'];
  if (o.because === 'owned') lines.push(`${mention(o.ownerSlackId)} has been told.`);
  const blocks = [section(lines.join('\n'))];
  if (o.isManager) blocks.push(context('As a manager you can also `/customer assign` it directly.'));
  return ephemeral(why, blocks);
}
