import type { App, BlockButtonAction } from '@slack/bolt';
import { cardReply } from '../customers/lookup.service.js';
import type { AppContext } from '../platform/context.js';
import { context, plainReply, type Reply } from './blocks.js';
import { handleCustomerCommand } from './customer.command.js';
import { mention } from './escape.js';
import { guarded } from './guard.js';
import { metrics } from '../platform/metrics.js';
import { ACTIONS, COMMANDS } from './ids.js';
import { toRespond } from './respond.js';
import { slashHandlers } from './slash.registry.js';
import { z } from 'zod';

const resumeValue = z.object({ c: z.enum(['/customer', '/feedback']), t: z.string().min(1).max(2_000) });
function safeJson(v: string | undefined): unknown {
  try {
    return JSON.parse(v ?? '');
  } catch {
    return null;
  }
}

/** Thin listeners: ack first (within 3 s, before any database work), then parse → service → reply. */
export function registerCustomerListeners(app: App, ctx: AppContext): void {
  app.command(COMMANDS.customer, async ({ command, ack, respond }) => {
    await ack();
    const reply = await metrics.slashLatency.time({ command: '/customer' }, () => handleCustomerCommand(ctx, {
      userId: command.user_id,
      channelId: command.channel_id,
      text: command.text ?? '',
      triggerId: command.trigger_id,
    }));
    await respond(toRespond(reply));
  });

  app.action<BlockButtonAction>(ACTIONS.openCard, async ({ action, ack, respond }) => {
    await ack();
    const reply = await guarded(ctx.logger, 'open card', async () => (await cardReply(ctx, action.value ?? '')) ?? plainReply('That customer no longer exists.'));
    await respond(toRespond({ ...reply, replaceOriginal: true }));
  });

  // A "which one?" pick during claim, assign, release, history, log or /feedback:
  // run the person's command again, naming the customer they picked. The
  // clicker is the actor, so every permission check applies to them.
  app.action<BlockButtonAction>(ACTIONS.resumeCommand, async ({ action, ack, respond, body }) => {
    await ack();
    const parsed = resumeValue.safeParse(safeJson(action.value));
    const handler = parsed.success ? slashHandlers.get(parsed.data.c) : undefined;
    const reply =
      parsed.success && handler
        ? await handler(ctx, { userId: body.user.id, channelId: body.channel?.id ?? '', text: parsed.data.t })
        : plainReply('That choice has expired. Please type the command again.');
    await respond(toRespond({ ...reply, replaceOriginal: true }));
  });

  app.action<BlockButtonAction>(ACTIONS.shareCard, async ({ action, ack, respond, body }) => {
    await ack();
    const reply: Reply = await guarded(ctx.logger, 'share card', async () => {
      const card = await cardReply(ctx, action.value ?? '', { shareable: false });
      if (!card) return plainReply('That customer no longer exists.');
      return { ...card, blocks: [...card.blocks, context(`shared by ${mention(body.user.id)}`)], responseType: 'in_channel' };
    });
    await respond(toRespond(reply));
  });
}
