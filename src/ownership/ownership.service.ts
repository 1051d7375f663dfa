import { claimNotification, type NewNotification } from '../alerts/outbox.repository.js';
import { scheduleDelivery } from '../alerts/outbox.service.js';
import { findTeam, listTeamManagers } from '../customers/roster.repository.js';
import type { AppContext } from '../platform/context.js';
import type { DbOrTrx } from '../platform/db.js';
import type { ReadSubject } from '../platform/read-routing.js';
import type { Notice } from './ownership.blocks.js';
import { personalChannel } from './ownership.rules.js';

/**
 * Ownership orchestration. Every change of owner runs in one transaction that
 * first locks the customer row (SELECT … FOR UPDATE), so claims, approvals,
 * assignments and releases on one account are serialised; the owner update is
 * also conditional on the owner read under the lock. Notices are claimed in
 * the outbox inside the same transaction (they exist exactly when the change
 * does) and handed to the delivery queue after commit.
 *
 * This file holds what the flows share (a transaction's result, its outbox,
 * the after-commit hand-off); the flows are claim.service, dispute.service
 * and assign.service.
 */

export interface TxResult<R> {
  result: R;
  notificationIds: { id: string; channel_id: string }[];
  /** Dispute messages to update in Slack after commit. */
  messageUpdates: MessageUpdate[];
}

export interface MessageUpdate {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
}

/** Collects the outbox rows claimed inside a transaction. */
export class Outbox {
  readonly ids: { id: string; channel_id: string }[] = [];
  constructor(private readonly trx: DbOrTrx) {}
  async add(n: NewNotification): Promise<void> {
    const id = await claimNotification(this.trx, n);
    if (id) this.ids.push({ id, channel_id: n.channel });
  }
  async notice(
    dedupeKey: string,
    member: { slackUserId: string; alertChannelId: string | null },
    body: Notice,
    customerId: string,
    kind = 'ownership',
  ): Promise<void> {
    await this.add({ dedupeKey, kind, channel: personalChannel(member), text: body.text, blocks: body.blocks, customerId });
  }
}

/** `wrote`: the customer and people whose next cards, Home and `/customer mine` must show this change. */
export async function afterCommit<R>(ctx: AppContext, tx: TxResult<R>, wrote?: ReadSubject): Promise<R> {
  if (wrote) await ctx.reads.wrote(wrote);
  await scheduleDelivery(ctx, tx.notificationIds);
  for (const u of tx.messageUpdates) {
    try {
      await ctx.slack.updateMessage({ channel: u.channel, ts: u.ts, text: u.text, blocks: u.blocks });
    } catch (error) {
      // The decision stands; only the old buttons stay visible (a click then says it is decided).
      ctx.logger.warn({ channel: u.channel, err: (error as Error).message }, 'could not update a dispute message');
    }
  }
  return tx.result;
}

export async function managersOf(ctx: AppContext, teamId: number | null): Promise<string[]> {
  return teamId === null ? [] : listTeamManagers(ctx.readDb, teamId);
}

export async function teamName(db: DbOrTrx, teamId: number | null): Promise<string | null> {
  return teamId === null ? null : ((await findTeam(db, teamId))?.name ?? null);
}
