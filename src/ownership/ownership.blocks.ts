import { formatMoney, relativeDays, shortDate, BAND_EMOJI } from '../customers/format.js';
import type { InteractionKind } from '../feedback/feedback.table.js';
import { actions, button, capBlocks, context, divider, fields, header, LIMITS, quote, section, type Block, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import { ACTIONS } from '../slack/ids.js';
import type { OwnershipEventKind } from './ownership.table.js';

/**
 * Pure Block Kit builders for ownership: replies to the person acting,
 * dispute posts for the team channel, notices to the people affected.
 * Customer names and reasons are user-supplied: always escaped.
 */

const name = (n: string) => `*${safeText(n, 200)}*`;
const ephemeral = (text: string, blocks: Block[]): Reply => ({ text: safeText(text, LIMITS.fallbackText), blocks, responseType: 'ephemeral' });
const who = (ids: readonly string[]) => (ids.length ? ids.map((id) => mention(id)).join(', ') : '');

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
  return managers.length ? `a manager${team} (${who(managers)}) or an admin` : `a manager${team} or an admin`;
}

// ── claim ─────────────────────────────────────────────────────────────────

export function claimTakenReply(customerName: string, customerId: string): Reply {
  return ephemeral(`You own ${customerName} now.`, [
    section(`:white_check_mark: You own ${name(customerName)} now. The change is in \`/customer history\`.`),
    actions(undefined, button(ACTIONS.openCard, 'Open card', customerId)),
  ]);
}

export function alreadyOwnerReply(customerName: string): Reply {
  return ephemeral(`You already own ${customerName}.`, [section(`You already own ${name(customerName)} — nothing to claim.`)]);
}

export function otherTeamClaimReply(customerName: string, teamName: string, managers: readonly string[]): Reply {
  return refusalReply(
    `${name(customerName)} belongs to team *${escapeMrkdwn(teamName)}*; only members of ${escapeMrkdwn(teamName)} can claim it.`,
    `To move it, ask ${managersPhrase(teamName, managers)} to \`/customer assign\` it.`,
  );
}

export function disputeAlreadyOpenReply(customerName: string, d: { claimantSlackId: string; openedAt: Date; mine: boolean }, now: Date): Reply {
  const text = d.mine
    ? `Your claim on ${name(customerName)} is already waiting for a manager (opened ${relativeDays(d.openedAt, now)}).`
    : `There is already an open ownership dispute on ${name(customerName)}: ${mention(d.claimantSlackId)}'s claim, opened ${relativeDays(d.openedAt, now)}. A manager has to decide it before anyone else can claim.`;
  return ephemeral(text, [section(`:hourglass: ${text}`)]);
}

export function disputeOpenedReply(
  customerName: string,
  o: { because: 'owned' | 'freeze'; ownerSlackId: string | null; channelId: string | null; daysToRenewal: number | null; freezeDays: number; isManager: boolean },
): Reply {
  const where = o.channelId ? ` in <#${o.channelId}>` : ' with your managers';
  const why =
    o.because === 'owned'
      ? `${name(customerName)} is owned by ${mention(o.ownerSlackId)}, so I opened an ownership dispute${where}.`
      : `${name(customerName)} renews ${o.daysToRenewal === 0 ? 'today' : `in ${o.daysToRenewal} days`} — inside the ${o.freezeDays}-day renewal freeze — so claiming it needs a manager's approval. I opened a dispute${where}.`;
  const lines = [`:scales: ${why}`, 'A manager will approve or reject it, and you will be told the outcome.'];
  if (o.because === 'owned') lines.push(`${mention(o.ownerSlackId)} has been told.`);
  const blocks = [section(lines.join('\n'))];
  if (o.isManager) blocks.push(context('As a manager you can also `/customer assign` it directly.'));
  return ephemeral(why, blocks);
}

// ── dispute post (team channel) ───────────────────────────────────────────

export interface SideEvidenceView {
  slackUserId: string;
  total: number;
  byKind: Partial<Record<InteractionKind, number>>;
  last: Date | null;
}

export interface DisputePost {
  disputeId: string;
  customerId: string;
  customerName: string;
  arr: number | null;
  currency: string | null;
  renewalDate: string | null;
  teamName: string | null;
  claimantSlackId: string;
  ownerSlackId: string | null;
  ownerSince: Date | null;
  reason: string | null;
  because: 'owned' | 'freeze';
  openedAt: Date;
  freezeDays: number;
  escalateAfterDays: number;
  evidenceDays: number;
  claimantEvidence: SideEvidenceView;
  ownerEvidence: SideEvidenceView | null;
  ownerLastTouch: { kind: InteractionKind; at: Date } | null;
}

function evidenceLine(side: SideEvidenceView, now: Date): string {
  if (side.total === 0) return `${mention(side.slackUserId)}: no logged touches`;
  const kinds = Object.entries(side.byKind)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([k, n]) => `${n} ${k}${n === 1 ? '' : k.endsWith('s') ? 'es' : 's'}`)
    .join(', ');
  return `${mention(side.slackUserId)}: ${side.total} touch${side.total === 1 ? '' : 'es'} (${kinds})${side.last ? `, last ${relativeDays(side.last, now)}` : ''}`;
}

/** The dispute as posted to the team channel, with Approve / Reject for managers. */
export function disputePostMessage(p: DisputePost, opts: { now: Date; escalated?: boolean }): Reply {
  const { now } = opts;
  const blocks: Block[] = [];
  blocks.push(header(`${opts.escalated ? '⏰ Still undecided — ownership claim' : 'Ownership claim'}: ${p.customerName}`));
  const situation =
    p.because === 'owned'
      ? `${mention(p.claimantSlackId)} claims ${name(p.customerName)}, owned by ${mention(p.ownerSlackId)}${p.ownerSince ? ` since ${shortDate(p.ownerSince)}` : ''}.`
      : `${mention(p.claimantSlackId)} claims ${name(p.customerName)}, which is unowned but inside the ${p.freezeDays}-day renewal freeze.`;
  blocks.push(section(situation + (p.reason ? `\n> ${quote(p.reason, 500)}` : '')));
  blocks.push(
    fields([
      ['ARR', formatMoney(p.arr, p.currency)],
      ['Renewal', p.renewalDate ? `${shortDate(p.renewalDate)} (${relativeDays(p.renewalDate, now)})` : 'unknown'],
      ['Owner’s last touch', p.ownerSlackId ? (p.ownerLastTouch ? `${p.ownerLastTouch.kind} ${relativeDays(p.ownerLastTouch.at, now)}` : '_never logged_') : '_no owner_'],
      ['Team', p.teamName ? escapeMrkdwn(p.teamName) : '_none_'],
    ]),
  );
  const evidence = [evidenceLine(p.claimantEvidence, now)];
  if (p.ownerEvidence) evidence.push(evidenceLine(p.ownerEvidence, now));
  blocks.push(section(`*Logged touches, last ${p.evidenceDays} days*\n${evidence.join('\n')}`));
  blocks.push(
    actions(
      `dispute_${p.disputeId}`,
      button(ACTIONS.approveDispute, `Approve: give it to the claimant`, p.disputeId, 'primary'),
      button(ACTIONS.rejectDispute, p.ownerSlackId ? 'Reject: owner keeps it' : 'Reject: leave it unowned', p.disputeId, 'danger'),
    ),
  );
  blocks.push(
    context(
      opts.escalated
        ? `Open since ${shortDate(p.openedAt)} (${relativeDays(p.openedAt, now)}) — escalated. A manager${p.teamName ? ` of ${escapeMrkdwn(p.teamName)}` : ''} or an admin decides.`
        : `A manager${p.teamName ? ` of ${escapeMrkdwn(p.teamName)}` : ''} or an admin decides. Escalates if undecided in ${p.escalateAfterDays} days.`,
    ),
  );
  const text = `${opts.escalated ? 'Still undecided: ' : ''}ownership claim on ${p.customerName} by ${p.claimantSlackId}`;
  return { text: safeText(text, 300), blocks: capBlocks(blocks) };
}

export type DisputeOutcome = 'approved' | 'rejected' | 'superseded' | 'expired';

/** A posted dispute message once decided: same evidence, buttons replaced by the outcome. */
export function decidedDisputeMessage(
  original: { text: string; blocks: unknown[] },
  outcome: { status: DisputeOutcome; bySlackId: string | null; claimantSlackId: string; ownerSlackId: string | null; customerName: string; at: Date },
): Reply {
  const kept = (original.blocks as Block[]).filter((b) => b.type !== 'actions' && b.type !== 'context');
  const line =
    outcome.status === 'approved'
      ? `:white_check_mark: *Approved* by ${mention(outcome.bySlackId)} — ${mention(outcome.claimantSlackId)} owns ${name(outcome.customerName)} now.`
      : outcome.status === 'rejected'
        ? `:x: *Rejected* by ${mention(outcome.bySlackId)} — ${outcome.ownerSlackId ? `${mention(outcome.ownerSlackId)} keeps ${name(outcome.customerName)}` : `${name(outcome.customerName)} stays unowned`}.`
        : outcome.status === 'superseded'
          ? `:arrows_counterclockwise: *Closed* — ${mention(outcome.bySlackId)} changed the owner of ${name(outcome.customerName)} directly, so this claim no longer applies.`
          : `:hourglass: *Expired* — ${mention(outcome.claimantSlackId)} is no longer an active member of this account's team, so the claim is closed.`;
  const blocks = capBlocks([...kept, section(line), context(`decided ${shortDate(outcome.at)}`)]);
  const text = `Ownership claim on ${outcome.customerName}: ${outcome.status}`;
  return { text: safeText(text, 300), blocks };
}

// ── notices to the people affected (posted via the outbox) ────────────────

export interface Notice {
  text: string;
  blocks: Block[];
}

function notice(mrkdwn: string, extra: Block[] = []): Notice {
  return { text: safeText(mrkdwn.replace(/[*_]/g, ''), 300), blocks: [section(mrkdwn), ...extra] };
}

export function ownerToldOfClaim(o: { customerName: string; claimantSlackId: string; reason: string | null; channelId: string | null; teamName: string | null }): Notice {
  const where = o.channelId ? ` in <#${o.channelId}>` : '';
  return notice(
    `:scales: ${mention(o.claimantSlackId)} has claimed ${name(o.customerName)}, which you own. A manager${o.teamName ? ` of ${escapeMrkdwn(o.teamName)}` : ''} will decide${where}.` +
      (o.reason ? `\n> ${quote(o.reason, 300)}` : ''),
    [context('Still working this account? Log your touches with `/customer log` — the evidence shows them.')],
  );
}

export function claimantToldOfDecision(o: { status: 'approved' | 'rejected'; customerName: string; bySlackId: string; ownerSlackId: string | null }): Notice {
  return o.status === 'approved'
    ? notice(`:white_check_mark: ${mention(o.bySlackId)} approved your claim: you own ${name(o.customerName)} now.`)
    : notice(
        `:x: ${mention(o.bySlackId)} rejected your claim on ${name(o.customerName)}. ${o.ownerSlackId ? `${mention(o.ownerSlackId)} keeps it.` : 'It stays unowned.'}`,
      );
}

export function ownerToldOfDecision(o: { status: 'approved' | 'rejected'; customerName: string; bySlackId: string; claimantSlackId: string }): Notice {
  return o.status === 'approved'
    ? notice(`:arrows_counterclockwise: ${mention(o.bySlackId)} approved ${mention(o.claimantSlackId)}'s claim: ${name(o.customerName)} is no longer yours.`)
    : notice(`:white_check_mark: ${mention(o.bySlackId)} rejected ${mention(o.claimantSlackId)}'s claim: you keep ${name(o.customerName)}.`);
}

export function assignedToYou(o: { customerName: string; bySlackId: string; fromSlackId: string | null; reason: string | null }): Notice {
  return notice(
    `:inbox_tray: ${mention(o.bySlackId)} assigned ${name(o.customerName)} to you${o.fromSlackId ? ` (from ${mention(o.fromSlackId)})` : ''}.` +
      (o.reason ? `\n> ${quote(o.reason, 300)}` : ''),
  );
}

export function takenFromYou(o: { customerName: string; bySlackId: string; toSlackId: string | null; reason: string | null }): Notice {
  const what = o.toSlackId ? `reassigned ${name(o.customerName)} from you to ${mention(o.toSlackId)}` : `released ${name(o.customerName)} from you; it is unowned now`;
  return notice(`:outbox_tray: ${mention(o.bySlackId)} ${what}.` + (o.reason ? `\n> ${quote(o.reason, 300)}` : ''));
}

export function claimSuperseded(o: { customerName: string; bySlackId: string }): Notice {
  return notice(`:arrows_counterclockwise: Your claim on ${name(o.customerName)} was closed: ${mention(o.bySlackId)} changed its owner directly.`);
}

// ── assign / release replies ──────────────────────────────────────────────

export function assignedReply(o: { customerName: string; toSlackId: string; fromSlackId: string | null; supersededDispute: boolean; told: readonly string[] }): Reply {
  const lines = [
    `:white_check_mark: ${name(o.customerName)} now belongs to ${mention(o.toSlackId)}${o.fromSlackId ? ` (was ${mention(o.fromSlackId)})` : ''}.`,
  ];
  if (o.supersededDispute) lines.push('The open ownership dispute on it is closed.');
  if (o.told.length) lines.push(`Told: ${who(o.told)}.`);
  return ephemeral(lines[0]!, [section(lines.join('\n'))]);
}

export function alreadyAssignedReply(customerName: string, toSlackId: string): Reply {
  return ephemeral(`${customerName} already belongs to ${toSlackId}.`, [section(`${name(customerName)} already belongs to ${mention(toSlackId)}.`)]);
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
      ? `:white_check_mark: You released ${name(o.customerName)}; it is unowned now.`
      : `:white_check_mark: Released ${name(o.customerName)} from ${mention(o.fromSlackId)}; it is unowned now. They have been told.`,
  ];
  if (o.supersededDispute) lines.push('The open ownership dispute on it is closed.');
  return ephemeral(lines[0]!, [section(lines.join('\n'))]);
}

export function unownedReply(customerName: string): Reply {
  return ephemeral(`${customerName} has no owner.`, [section(`${name(customerName)} has no owner — nothing to release. \`/customer claim\` it?`)]);
}

// ── history ───────────────────────────────────────────────────────────────

export interface HistoryItem {
  kind: OwnershipEventKind;
  fromSlackId: string | null;
  toSlackId: string | null;
  actorSlackId: string | null;
  reason: string | null;
  at: Date;
}

const KIND_LABEL: Record<OwnershipEventKind, string> = {
  import: 'imported',
  claim: 'claimed',
  assign: 'assigned',
  release: 'released',
  dispute_approved: 'claim approved',
  api: 'set by API',
};

export const HISTORY_MAX_EVENTS = 40;
const HISTORY_PER_SECTION = 8;

function historyLine(e: HistoryItem): string {
  const from = e.fromSlackId ? mention(e.fromSlackId) : '_nobody_';
  const to = e.toSlackId ? mention(e.toSlackId) : '_nobody_';
  const by = e.actorSlackId ? ` · by ${mention(e.actorSlackId)}` : '';
  const why = e.reason ? ` · “${quote(e.reason, 200)}”` : '';
  return `*${shortDate(e.at)}* ${e.at.toISOString().slice(11, 16)} UTC · ${KIND_LABEL[e.kind]}: ${from} → ${to}${by}${why}`;
}

/** Ownership events, newest first, within the message block and text limits. */
export function historyReply(customerName: string, events: readonly HistoryItem[], total: number): Reply {
  const blocks: Block[] = [header(`Ownership history: ${customerName}`)];
  if (events.length === 0) {
    blocks.push(section('_No ownership changes recorded yet._'));
  } else {
    const shown = events.slice(0, HISTORY_MAX_EVENTS);
    for (let i = 0; i < shown.length; i += HISTORY_PER_SECTION) {
      blocks.push(section(shown.slice(i, i + HISTORY_PER_SECTION).map(historyLine).join('\n')));
    }
    if (total > shown.length) blocks.push(context(`…and ${total - shown.length} older event${total - shown.length === 1 ? '' : 's'} not shown`));
  }
  return ephemeral(`Ownership history of ${customerName}: ${total} event${total === 1 ? '' : 's'}`, capBlocks(blocks));
}

// ── mine ──────────────────────────────────────────────────────────────────

export interface BookLine {
  id: string;
  name: string;
  arr: number | null;
  currency: string | null;
  renewalDate: string | null;
  health: number | null;
  band: 'green' | 'yellow' | 'red' | null;
  tier: 'A' | 'B' | 'C' | null;
  lastTouch: { kind: string; at: Date } | null;
}

export const MINE_PAGE_SIZE = 20;

export function bookLine(a: BookLine, now: Date): string {
  const score = a.health !== null && a.band ? `${BAND_EMOJI[a.band]} *${a.health}* ${a.band}` : '⚪ _not scored_';
  const parts = [
    `${score} · ${name(a.name)}${a.tier ? ` · tier ${a.tier}` : ''}`,
    [
      `ARR ${formatMoney(a.arr, a.currency)}`,
      `renewal ${a.renewalDate ? `${shortDate(a.renewalDate)} (${relativeDays(a.renewalDate, now)})` : 'unknown'}`,
      `last touch ${a.lastTouch ? `${escapeMrkdwn(a.lastTouch.kind)} ${relativeDays(a.lastTouch.at, now)}` : '_never_'}`,
    ].join(' · '),
  ];
  return parts.join('\n');
}

export function mineReply(o: { accounts: readonly BookLine[]; total: number; page: number; pages: number; outOfRange: boolean; now: Date }): Reply {
  if (o.total === 0) {
    return ephemeral('You own no accounts yet.', [section('You own no accounts yet. `/customer claim <customer>` to take one, or ask a manager to assign you some.')]);
  }
  const blocks: Block[] = [header(`My accounts (${o.total})`)];
  if (o.outOfRange) blocks.push(context(`There are only ${o.pages} page${o.pages === 1 ? '' : 's'}; here is the last one.`));
  blocks.push(context(`Riskiest first · page ${o.page} of ${o.pages}`));
  for (const a of o.accounts.slice(0, MINE_PAGE_SIZE)) {
    blocks.push({ ...section(bookLine(a, o.now)), accessory: button(ACTIONS.openCard, 'Open', a.id) } as Block);
  }
  if (o.pages > 1) {
    blocks.push(divider);
    blocks.push(context(o.page < o.pages ? `\`/customer mine ${o.page + 1}\` for the next page` : `\`/customer mine 1\` for the first page`));
  }
  return ephemeral(`Your accounts, page ${o.page} of ${o.pages}`, capBlocks(blocks));
}
