import { quote, section, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn, mention } from '../slack/escape.js';
import { ADD_MEMBER_HINT, boldName, ephemeral, mentionList, notice, type Notice } from './ownership.blocks.js';

/** Pure views of `/customer assign` and `/customer release`: the replies, and the notices to the owners concerned. */

export function assignedReply(o: {
  customerName: string;
  toSlackId: string;
  fromSlackId: string | null;
  supersededDispute: boolean;
  told: readonly string[];
}): Reply {
  const lines = [
    `:white_check_mark: ${boldName(o.customerName)} now belongs to ${mention(o.toSlackId)}${o.fromSlackId ? ` (was ${mention(o.fromSlackId)})` : ''}.`,
  ];
  if (o.supersededDispute) lines.push('The open ownership dispute on it is closed.');
  if (o.told.length) lines.push(`Told: ${mentionList(o.told)}.`);
  return ephemeral(lines[0]!, [section(lines.join('\n'))]);
}

export function alreadyAssignedReply(customerName: string, toSlackId: string): Reply {
  return ephemeral(`${customerName} already belongs to ${toSlackId}.`, [section(`${boldName(customerName)} already belongs to ${mention(toSlackId)}.`)]);
}

export function unknownTargetReply(slackUserId: string): Reply {
  const cmd = ADD_MEMBER_HINT(slackUserId);
  return ephemeral(`${slackUserId} is not a retain member.`, [
    section(`${mention(slackUserId)} is not a retain member, so they cannot own accounts. An admin can add them:\n\`${escapeMrkdwn(cmd)}\``),
  ]);
}

export function releasedReply(o: { customerName: string; fromSlackId: string; byOwner: boolean; supersededDispute: boolean }): Reply {
  const lines = [
    o.byOwner
      ? `:white_check_mark: You released ${boldName(o.customerName)}; it is unowned now.`
      : `:white_check_mark: Released ${boldName(o.customerName)} from ${mention(o.fromSlackId)}; it is unowned now. They have been told.`,
  ];
  if (o.supersededDispute) lines.push('The open ownership dispute on it is closed.');
  return ephemeral(lines[0]!, [section(lines.join('\n'))]);
}

export function unownedReply(customerName: string): Reply {
  return ephemeral(`${customerName} has no owner.`, [section(`${boldName(customerName)} has no owner — nothing to release. \`/customer claim\` it?`)]);
}

// ── notices to the new and the former owner ──────────────────────────────

export function assignedToYou(o: { customerName: string; bySlackId: string; fromSlackId: string | null; reason: string | null }): Notice {
  return notice(
    `:inbox_tray: ${mention(o.bySlackId)} assigned ${boldName(o.customerName)} to you${o.fromSlackId ? ` (from ${mention(o.fromSlackId)})` : ''}.` +
      (o.reason ? `\n> ${quote(o.reason, 300)}` : ''),
  );
}

export function takenFromYou(o: { customerName: string; bySlackId: string; toSlackId: string | null; reason: string | null }): Notice {
  const what = o.toSlackId
    ? `reassigned ${boldName(o.customerName)} from you to ${mention(o.toSlackId)}`
    : `released ${boldName(o.customerName)} from you; it is unowned now`;
  return notice(`:outbox_tray: ${mention(o.bySlackId)} ${what}.${o.reason ? `\n> ${quote(o.reason, 300)}` : ''}`);
}
