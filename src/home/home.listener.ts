import type { App } from '@slack/bolt';
import type { AppContext } from '../platform/context.js';
import { isUnavailable } from '../platform/errors.js';
import { unavailableView } from './home.blocks.js';
import { buildHome } from './home.service.js';

/** app_home_opened → views.publish of the member's book (Bolt acks events itself). */
export function registerHomeListener(app: App, ctx: AppContext): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab && event.tab !== 'home') return;
    let view: unknown;
    try {
      view = await buildHome(ctx, event.user);
    } catch (error) {
      if (!isUnavailable(error)) ctx.logger.error({ err: (error as Error).message }, 'could not build the App Home');
      view = unavailableView();
    }
    try {
      await ctx.slack.publishHome(event.user, view);
    } catch (error) {
      ctx.logger.warn({ err: (error as Error).message }, 'views.publish failed');
    }
  });
}
