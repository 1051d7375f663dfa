import type { BookAccount } from '../customers/book.repository.js';
import { BAND_EMOJI, formatMoney, relativeDays, shortDate } from '../customers/format.js';
import { button, capBlocks, context, divider, header, section, type Block, type Reply } from '../slack/blocks.js';
import { escapeMrkdwn } from '../slack/escape.js';
import { ACTIONS } from '../slack/ids.js';
import { boldName, ephemeral } from './ownership.blocks.js';

/** Pure view of `/customer mine`: one page of the member's book, riskiest first. */

/** One account of the book as the page shows it (the repository's row without its status). */
export type BookLine = Omit<BookAccount, 'status' | 'lastTouch'> & { lastTouch: { kind: string; at: Date } | null };

export const MINE_PAGE_SIZE = 20;

export function bookLine(a: BookLine, now: Date): string {
  const score = a.health !== null && a.band ? `${BAND_EMOJI[a.band]} *${a.health}* ${a.band}` : '⚪ _not scored_';
  const parts = [
    `${score} · ${boldName(a.name)}${a.tier ? ` · tier ${a.tier}` : ''}`,
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
