import { customerOrReply, settleLeadingCustomer } from '../customers/lookup.command.js';
import { resumeWith } from '../commands/resume.js';
import type { AppContext } from '../platform/context.js';
import { plainReply, type Reply } from '../slack/blocks.js';
import type { CustomerCommand } from '../commands/command.parser.js';
import type { CommandInput } from '../slack/slash.js';
import { escapeMrkdwn, mention } from '../slack/escape.js';
import { alreadyAssignedReply, assignedReply, releasedReply, unknownTargetReply, unownedReply } from './assign.blocks.js';
import { mineReply, MINE_PAGE_SIZE } from './book.blocks.js';
import { alreadyOwnerReply, claimTakenReply, disputeAlreadyOpenReply, disputeOpenedReply, otherTeamClaimReply } from './claim.blocks.js';
import { historyReply, HISTORY_MAX_EVENTS } from './history.blocks.js';
import { managersPhrase, notMemberReply, refusalReply } from './ownership.blocks.js';
import { countBook, listBook } from '../customers/book.repository.js';
import { findActor, type MemberInfo } from '../customers/roster.repository.js';
import { countOwnershipEvents, listOwnershipEvents } from './history.repository.js';
import { assignAccount, releaseAccount } from './assign.service.js';
import { claimAccount } from './claim.service.js';
import { managersOf } from './ownership.service.js';
import { isManagerRole, pageWindow } from './ownership.rules.js';

/**
 * `/customer claim|assign|release|history|mine`: who is asking → which
 * customer → service → reply. Registered with the /customer router.
 */
type Cmd<K extends CustomerCommand['kind']> = Extract<CustomerCommand, { kind: K }>;

/** The member typing the command, or the reply telling a stranger how to get added. */
export async function actorOrReply(ctx: AppContext, slackUserId: string): Promise<MemberInfo | Reply> {
  const actor = await findActor(ctx.db, slackUserId);
  return actor ?? notMemberReply(slackUserId);
}

const isReply = (x: MemberInfo | Reply): x is Reply => 'blocks' in x;
const gone = () => plainReply('That customer no longer exists.');

export async function claimCommand(ctx: AppContext, input: CommandInput, typed: Cmd<'claim'>): Promise<Reply> {
  const actor = await actorOrReply(ctx, input.userId);
  if (isReply(actor)) return actor;
  // "claim acme logistics they asked for me": the book says where the name ends and the reason starts.
  const cmd = await settleLeadingCustomer(ctx, typed);
  const found = await customerOrReply(ctx, cmd.query, resumeWith('/customer', cmd));
  if (found.reply) return found.reply;
  const r = await claimAccount(ctx, actor, found.customer.id, cmd.reason);
  const now = ctx.clock.now();
  switch (r.kind) {
    case 'not_found':
      return gone();
    case 'other_team':
      return otherTeamClaimReply(r.customerName, r.teamName, await managersOf(ctx, r.teamId));
    case 'already_owner':
      return alreadyOwnerReply(r.customerName);
    case 'dispute_open':
      return disputeAlreadyOpenReply(r.customerName, r, now);
    case 'taken':
      return claimTakenReply(r.customerName, r.customerId);
    case 'dispute':
      return disputeOpenedReply(r.customerName, {
        because: r.because,
        ownerSlackId: r.ownerSlackId,
        channelId: r.channelId,
        daysToRenewal: r.daysToRenewal,
        freezeDays: ctx.config.settings.renewals.freezeDays,
        isManager: isManagerRole(actor.role),
      });
  }
}

export async function assignCommand(ctx: AppContext, input: CommandInput, cmd: Cmd<'assign'>): Promise<Reply> {
  const actor = await actorOrReply(ctx, input.userId);
  if (isReply(actor)) return actor;
  if (!isManagerRole(actor.role)) {
    // Refuse before the lookup: the answer does not depend on the customer.
    return refusalReply(
      'Only managers and admins can assign accounts.',
      `Ask ${managersPhrase(actor.teamName, await managersOf(ctx, actor.teamId))}, or \`/customer claim\` it yourself.`,
    );
  }
  const found = await customerOrReply(ctx, cmd.query, resumeWith('/customer', cmd));
  if (found.reply) return found.reply;
  const r = await assignAccount(ctx, actor, found.customer.id, cmd.userId, cmd.reason);
  switch (r.kind) {
    case 'not_found':
      return gone();
    case 'unknown_target':
      return unknownTargetReply(cmd.userId);
    case 'already_owner':
      return alreadyAssignedReply(r.customerName, cmd.userId);
    case 'refused': {
      const team = r.teamName ? escapeMrkdwn(r.teamName) : 'its team';
      if (r.why === 'other_team') {
        return refusalReply(
          `*${escapeMrkdwn(r.customerName)}* belongs to team ${team}; you manage ${escapeMrkdwn(actor.teamName)}.`,
          `Ask ${managersPhrase(r.teamName, await managersOf(ctx, r.teamId))}.`,
        );
      }
      if (r.why === 'target_other_team') {
        return refusalReply(
          `${mention(cmd.userId)} is in team ${escapeMrkdwn(r.targetTeamName)}, not ${escapeMrkdwn(actor.teamName)}.`,
          'Only an admin can move an account to another team.',
        );
      }
      return refusalReply('Only managers and admins can assign accounts.', `Ask ${managersPhrase(r.teamName, await managersOf(ctx, r.teamId))}.`);
    }
    case 'assigned':
      return assignedReply({ customerName: r.customerName, toSlackId: r.toSlackId, fromSlackId: r.fromSlackId, supersededDispute: r.superseded, told: r.told });
  }
}

export async function releaseCommand(ctx: AppContext, input: CommandInput, cmd: Cmd<'release'>): Promise<Reply> {
  const actor = await actorOrReply(ctx, input.userId);
  if (isReply(actor)) return actor;
  const found = await customerOrReply(ctx, cmd.query, resumeWith('/customer', cmd));
  if (found.reply) return found.reply;
  const r = await releaseAccount(ctx, actor, found.customer.id);
  switch (r.kind) {
    case 'not_found':
      return gone();
    case 'unowned':
      return unownedReply(r.customerName);
    case 'refused':
      return refusalReply(
        `You do not own *${escapeMrkdwn(r.customerName)}*${r.ownerSlackId ? ` (${mention(r.ownerSlackId)} does)` : ''}.`,
        `Only its owner, ${managersPhrase(r.teamName, await managersOf(ctx, r.teamId))} can release it.`,
      );
    case 'released':
      return releasedReply({ customerName: r.customerName, fromSlackId: r.fromSlackId, byOwner: r.byOwner, supersededDispute: r.superseded });
  }
}

export async function historyCommand(ctx: AppContext, input: CommandInput, cmd: Cmd<'history'>): Promise<Reply> {
  const actor = await actorOrReply(ctx, input.userId);
  if (isReply(actor)) return actor;
  const found = await customerOrReply(ctx, cmd.query, resumeWith('/customer', cmd));
  if (found.reply) return found.reply;
  const db = await ctx.reads.for({ customerIds: [found.customer.id], userIds: [input.userId] });
  const [events, total] = await Promise.all([listOwnershipEvents(db, found.customer.id, HISTORY_MAX_EVENTS), countOwnershipEvents(db, found.customer.id)]);
  return historyReply(found.customer.name, events, total);
}

export async function mineCommand(ctx: AppContext, input: CommandInput, cmd: Cmd<'mine'>): Promise<Reply> {
  const actor = await actorOrReply(ctx, input.userId);
  if (isReply(actor)) return actor;
  // Where this person's latest change is: an account just claimed is in the list at once.
  const db = await ctx.reads.for({ userIds: [input.userId] });
  // Count first so an out-of-range page shows the last one instead of nothing.
  const total = await countBook(db, actor.memberId);
  const win = pageWindow(cmd.page, total, MINE_PAGE_SIZE);
  const book = total === 0 ? { total, accounts: [] } : await listBook(db, actor.memberId, { offset: win.offset, limit: MINE_PAGE_SIZE });
  return mineReply({ accounts: book.accounts, total: book.total, page: win.page, pages: win.pages, outOfRange: win.outOfRange, now: ctx.clock.now() });
}
