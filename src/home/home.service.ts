import { listBookAccounts } from '../customers/book.repository.js';
import { findActor } from '../customers/roster.repository.js';
import { listOpenDisputesFor } from '../ownership/dispute.repository.js';
import type { AppContext } from '../platform/context.js';
import { homeView, welcomeView } from './home.blocks.js';
import { selectHomeSections, type HomeAccount } from './home.rules.js';

/** Enough for any real book; riskiest first, so a bigger one loses its healthiest accounts. */
const HOME_BOOK_LIMIT = 2_000;

/** The App Home of one Slack user: their book for members, a welcome for everyone else. */
export async function buildHome(ctx: AppContext, slackUserId: string): Promise<{ type: 'home'; blocks: unknown[] }> {
  // Where this person's latest change is: an account just claimed or a touch just logged shows at once.
  const db = await ctx.reads.for({ userIds: [slackUserId] });
  const member = await findActor(db, slackUserId);
  if (!member) return welcomeView(slackUserId);
  const now = ctx.clock.now();
  const [book, disputes] = await Promise.all([
    listBookAccounts(db, member.memberId, { status: 'active', limit: HOME_BOOK_LIMIT }),
    listOpenDisputesFor(db, member, 10),
  ]);
  const accounts: HomeAccount[] = book.map(({ lastTouch, ...a }) => ({ ...a, lastTouchAt: lastTouch?.at ?? null }));
  const sections = selectHomeSections(accounts, now, ctx.config.settings.scoring.cadenceDays);
  return homeView({ slackUserId, teamName: member.teamName, sections, disputes, now });
}
