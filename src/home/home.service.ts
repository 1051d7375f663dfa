import { findActor } from '../customers/roster.repository.js';
import { listOpenDisputesFor } from '../ownership/dispute.repository.js';
import type { AppContext } from '../platform/context.js';
import { homeView, welcomeView } from './home.blocks.js';
import { listOwnedAccounts } from './home.repository.js';
import { selectHomeSections } from './home.rules.js';

/** The App Home of one Slack user: their book for members, a welcome for everyone else. */
export async function buildHome(ctx: AppContext, slackUserId: string): Promise<{ type: 'home'; blocks: unknown[] }> {
  const member = await findActor(ctx.readDb, slackUserId);
  if (!member) return welcomeView(slackUserId);
  const now = ctx.clock.now();
  const [accounts, disputes] = await Promise.all([listOwnedAccounts(ctx.readDb, member.memberId), listOpenDisputesFor(ctx.readDb, member, 10)]);
  const sections = selectHomeSections(accounts, now, ctx.config.settings.scoring.cadenceDays);
  return homeView({ slackUserId, teamName: member.teamName, sections, disputes, now });
}
