import { formatMoney, relativeDays, shortDate } from '../customers/format.js';
import type { InteractionKind } from '../feedback/feedback.table.js';
import { actions, button, capBlocks, context, fields, header, quote, section, type Block, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn, mention, safeText } from '../slack/escape.js';
import { ACTIONS } from '../slack/ids.js';
import { boldName, notice, type Notice } from './ownership.blocks.js';

/**
 * Pure views of an ownership dispute: the post with its evidence and
 * Approve / Reject for the deciders, the same post once decided, and the
 * notices to the claimant and the owner.
 */

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
      ? `${mention(p.claimantSlackId)} claims ${boldName(p.customerName)}, owned by ${mention(p.ownerSlackId)}${p.ownerSince ? ` since ${shortDate(p.ownerSince)}` : ''}.`
      : `${mention(p.claimantSlackId)} claims ${boldName(p.customerName)}, which is unowned but inside the ${p.freezeDays}-day renewal freeze.`;
  blocks.push(section(situation + (p.reason ? `\n> ${quote(p.reason, 500)}` : '')));
  blocks.push(
    fields([
      ['ARR', formatMoney(p.arr, p.currency)],
      ['Renewal', p.renewalDate ? `${shortDate(p.renewalDate)} (${relativeDays(p.renewalDate, now)})` : 'unknown'],
      [
        'Owner’s last touch',
        p.ownerSlackId ? (p.ownerLastTouch ? `${p.ownerLastTouch.kind} ${relativeDays(p.ownerLastTouch.at, now)}` : '_never logged_') : '_no owner_',
      ],
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
      ? `:white_check_mark: *Approved* by ${mention(outcome.bySlackId)} — ${mention(outcome.claimantSlackId)} owns ${boldName(outcome.customerName)} now.`
      : outcome.status === 'rejected'
        ? `:x: *Rejected* by ${mention(outcome.bySlackId)} — ${outcome.ownerSlackId ? `${mention(outcome.ownerSlackId)} keeps ${boldName(outcome.customerName)}` : `${boldName(outcome.customerName)} stays unowned`}.`
        : outcome.status === 'superseded'
          ? `:arrows_counterclockwise: *Closed* — ${mention(outcome.bySlackId)} changed the owner of ${boldName(outcome.customerName)} directly, so this claim no longer applies.`
          : `:hourglass: *Expired* — ${mention(outcome.claimantSlackId)} is no longer an active member of this account's team, so the claim is closed.`;
  const blocks = capBlocks([...kept, section(line), context(`decided ${shortDate(outcome.at)}`)]);
  const text = `Ownership claim on ${outcome.customerName}: ${outcome.status}`;
  return { text: safeText(text, 300), blocks };
}

// ── notices to the claimant and the owner ─────────────────────────────────

export function ownerToldOfClaim(o: {
  customerName: string;
  claimantSlackId: string;
  reason: string | null;
  channelId: string | null;
  teamName: string | null;
}): Notice {
  const where = o.channelId ? ` in <#${o.channelId}>` : '';
  return notice(
    `:scales: ${mention(o.claimantSlackId)} has claimed ${boldName(o.customerName)}, which you own. A manager${o.teamName ? ` of ${escapeMrkdwn(o.teamName)}` : ''} will decide${where}.` +
      (o.reason ? `\n> ${quote(o.reason, 300)}` : ''),
    [context('Still working this account? Log your touches with `/customer log` — the evidence shows them.')],
  );
}

export function claimantToldOfDecision(o: { status: 'approved' | 'rejected'; customerName: string; bySlackId: string; ownerSlackId: string | null }): Notice {
  return o.status === 'approved'
    ? notice(`:white_check_mark: ${mention(o.bySlackId)} approved your claim: you own ${boldName(o.customerName)} now.`)
    : notice(
        `:x: ${mention(o.bySlackId)} rejected your claim on ${boldName(o.customerName)}. ${o.ownerSlackId ? `${mention(o.ownerSlackId)} keeps it.` : 'It stays unowned.'}`,
      );
}

export function ownerToldOfDecision(o: { status: 'approved' | 'rejected'; customerName: string; bySlackId: string; claimantSlackId: string }): Notice {
  return o.status === 'approved'
    ? notice(
        `:arrows_counterclockwise: ${mention(o.bySlackId)} approved ${mention(o.claimantSlackId)}'s claim: ${boldName(o.customerName)} is no longer yours.`,
      )
    : notice(`:white_check_mark: ${mention(o.bySlackId)} rejected ${mention(o.claimantSlackId)}'s claim: you keep ${boldName(o.customerName)}.`);
}

export function claimSuperseded(o: { customerName: string; bySlackId: string }): Notice {
  return notice(`:arrows_counterclockwise: Your claim on ${boldName(o.customerName)} was closed: ${mention(o.bySlackId)} changed its owner directly.`);
}
