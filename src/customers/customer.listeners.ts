import type { App, BlockButtonAction, BlockStaticSelectAction } from '@slack/bolt';
import type { AppContext } from '../platform/context.js';
import { context, plainReply, type Reply } from '../slack/blocks.js';
import { mention } from '../slack/escape.js';
import { guarded } from '../slack/guard.js';
import { ACTIONS } from '../slack/ids.js';
import { toRespond } from '../slack/respond.js';
import { cardReply } from './lookup.command.js';

/** The lookup card's buttons: open a card (from a choice, the nearest names or the book's menu) and share it to the channel. */
export function registerCustomerListeners(app: App, ctx: AppContext): void {
  const openCard = async (customerId: string, respond: (r: ReturnType<typeof toRespond>) => Promise<unknown>) => {
    const reply = await guarded(ctx.logger, 'open card', async () => (await cardReply(ctx, customerId)) ?? plainReply('That customer no longer exists.'));
    await respond(toRespond({ ...reply, replaceOriginal: true }));
  };
  app.action<BlockButtonAction>(ACTIONS.openCard, async ({ action, ack, respond }) => {
    await ack();
    await openCard(action.value ?? '', respond);
  });
  app.action<BlockStaticSelectAction>(ACTIONS.openCardMenu, async ({ action, ack, respond }) => {
    await ack();
    await openCard(action.selected_option?.value ?? '', respond);
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
