import { notificationKeys } from '../alerts/destination.rules.js';
import { claimNotification } from '../alerts/outbox.repository.js';
import { scheduleDelivery } from '../alerts/outbox.service.js';
import { findActor } from '../customers/roster.repository.js';
import { followUpDataChange } from '../jobs/follow-ups.js';
import type { AppContext } from '../platform/context.js';
import { lexiconCounts, sentimentFor, sentimentFromCounts } from './classify.rules.js';
import { complaintAlertNotice } from './feedback.blocks.js';
import {
  bumpDataChanged,
  findFeedbackForMessage,
  insertComplaintAlert,
  insertFeedback,
  insertInteraction,
  lockFeedbackAccount,
  setFeedbackAlert,
  setFeedbackPermalink,
} from './feedback.repository.js';
import type { FeedbackKind, FeedbackKindSource, InteractionKind } from './feedback.table.js';

/**
 * Feedback and interactions logged from Slack. Each write bumps the
 * customer's data_changed_at in the same transaction, so the incremental
 * rescore picks it up, and asks for that (debounced) rescore once committed. A complaint on a tier-A account raises a
 * complaint_tier_a alert and claims the owner's notice in the outbox in that
 * same transaction: the alert exists exactly when the feedback does, once.
 */

export interface NewFeedback {
  authorSlackId: string;
  customerId: string;
  text: string;
  kind: FeedbackKind;
  kindSource: FeedbackKindSource;
  sentiment: number;
  source: 'slash' | 'shortcut';
  message?: { channel: string; ts: string } | null;
  permalink?: string | null;
}

export type FeedbackResult =
  | { kind: 'not_found' }
  | { kind: 'duplicate'; customerName: string; existingKind: FeedbackKind }
  | {
      kind: 'recorded';
      feedbackId: string;
      customerName: string;
      feedbackKind: FeedbackKind;
      sentiment: number;
      kindSource: FeedbackKindSource;
      /** Who was alerted about a tier-A complaint (owner, else the team channel); null when no alert. */
      alerted: { channel: string; ownerSlackId: string | null } | null;
    };

export async function recordFeedback(ctx: AppContext, f: NewFeedback): Promise<FeedbackResult> {
  const now = ctx.clock.now();
  const tx = await ctx.db.transaction().execute(async (trx) => {
    const none = { notifications: [] as { id: string; channel_id: string }[] };
    const account = await lockFeedbackAccount(trx, f.customerId);
    if (!account) return { result: { kind: 'not_found' } as FeedbackResult, ...none };
    const id = await insertFeedback(trx, {
      customerId: f.customerId,
      authorSlackId: f.authorSlackId,
      kind: f.kind,
      kindSource: f.kindSource,
      sentiment: f.sentiment,
      text: f.text,
      source: f.source,
      message: f.message ?? null,
      permalink: f.permalink ?? null,
      at: now,
    });
    if (!id) {
      const existing = f.message ? await findFeedbackForMessage(trx, f.customerId, f.message.channel, f.message.ts) : undefined;
      return { result: { kind: 'duplicate', customerName: account.name, existingKind: existing?.kind ?? f.kind } as FeedbackResult, ...none };
    }
    await bumpDataChanged(trx, f.customerId, now);

    let alerted: { channel: string; ownerSlackId: string | null } | null = null;
    const notifications: { id: string; channel_id: string }[] = [];
    if (f.kind === 'complaint' && account.tier === 'A') {
      const alert = await insertComplaintAlert(trx, {
        customerId: f.customerId,
        health: account.health,
        band: account.band,
        pAlive: account.pAlive,
        driverText: `complaint logged by ${f.authorSlackId}`,
        at: now,
      });
      if (alert) await setFeedbackAlert(trx, id, alert.id);
      const channel = account.owner ? (account.owner.alertChannelId ?? account.owner.slackUserId) : account.teamChannelId;
      if (channel) {
        const notice = complaintAlertNotice({
          customerId: f.customerId,
          customerName: account.name,
          text: f.text,
          authorSlackId: f.authorSlackId,
          ownerSlackId: account.owner?.slackUserId ?? null,
          health: account.health,
          band: account.band,
          permalink: f.permalink ?? null,
          alertId: alert?.id ?? null,
        });
        const nid = await claimNotification(trx, {
          // The alert's message, like a churn warning's: its buttons update it in place.
          dedupeKey: alert ? notificationKeys.warning(f.customerId, alert.episode) : `feedback-${id}-complaint`,
          kind: 'complaint_tier_a',
          channel,
          text: notice.text,
          blocks: notice.blocks,
          customerId: f.customerId,
          teamId: account.teamId,
        });
        if (nid) notifications.push({ id: nid, channel_id: channel });
        alerted = { channel, ownerSlackId: account.owner?.slackUserId ?? null };
      }
    }
    const result: FeedbackResult = {
      kind: 'recorded',
      feedbackId: id,
      customerName: account.name,
      feedbackKind: f.kind,
      sentiment: f.sentiment,
      kindSource: f.kindSource,
      alerted,
    };
    return { result, notifications };
  });
  if (tx.result.kind === 'recorded') await ctx.reads.wrote({ customerIds: [f.customerId], userIds: [f.authorSlackId] });
  await scheduleDelivery(ctx, tx.notifications);
  if (tx.result.kind === 'recorded') await followUpDataChange(ctx);
  return tx.result;
}

/** The message link is fetched after the modal is answered; stored when it arrives. */
export async function attachPermalink(ctx: AppContext, feedbackId: string, channel: string, ts: string): Promise<void> {
  try {
    const link = await ctx.slack.permalink(channel, ts);
    if (link) await setFeedbackPermalink(ctx.db, feedbackId, link);
  } catch (error) {
    ctx.logger.warn({ feedbackId, err: (error as Error).message }, 'could not fetch the message permalink');
  }
}

/** `/customer log`: record a touch and mark the customer for rescoring. */
export async function logInteraction(
  ctx: AppContext,
  i: { authorSlackId: string; customerId: string; kind: InteractionKind; note: string },
): Promise<{ interactionId: string; at: Date } | null> {
  const now = ctx.clock.now();
  const logged = await ctx.db.transaction().execute(async (trx) => {
    const exists = await trx.selectFrom('customers').select('id').where('id', '=', i.customerId).executeTakeFirst();
    if (!exists) return null;
    const interactionId = await insertInteraction(trx, { customerId: i.customerId, authorSlackId: i.authorSlackId, kind: i.kind, note: i.note, at: now });
    await bumpDataChanged(trx, i.customerId, now);
    return { interactionId, at: now };
  });
  if (logged) {
    // The card and the person's Home show the touch at once, even on a lagging replica.
    await ctx.reads.wrote({ customerIds: [i.customerId], userIds: [i.authorSlackId] });
    await followUpDataChange(ctx);
  }
  return logged;
}

/**
 * The "Log as customer feedback" modal, submitted: who is asking, the kind
 * (the person's choice, else the one suggested when the modal opened), the
 * sentiment of the text, then the same write as /feedback.
 */
export async function logShortcutFeedback(
  ctx: AppContext,
  s: {
    userId: string;
    customerId: string;
    text: string;
    chosenKind: FeedbackKind | null;
    suggestedKind: FeedbackKind;
    message: { channel: string; ts: string };
  },
): Promise<FeedbackResult | { kind: 'not_member' }> {
  const actor = await findActor(ctx.db, s.userId);
  if (!actor) return { kind: 'not_member' };
  const kind = s.chosenKind ?? s.suggestedKind;
  return recordFeedback(ctx, {
    authorSlackId: actor.slackUserId,
    customerId: s.customerId,
    text: s.text,
    kind,
    kindSource: kind === s.suggestedKind ? 'auto' : 'chosen',
    sentiment: sentimentFor(kind, sentimentFromCounts(lexiconCounts(s.text))),
    source: 'shortcut',
    message: s.message,
  });
}
