import type { BookAccount } from '../customers/book.repository.js';
import { BAND_EMOJI, formatMoney, relativeDays, shortDate } from '../customers/format.js';
import { actions, capBlocks, context, divider, header, LIMITS, rawCell, section, table, type Block, type Reply, type SelectElement } from '../slack/blocks.js';
import { truncate } from '../slack/escape.js';
import { ACTIONS } from '../slack/ids.js';
import { ephemeral } from './ownership.blocks.js';

/** Pure view of `/customer mine`: one page of the member's book, riskiest first. */

/** One account of the book as the page shows it (the repository's row without its status). */
export type BookLine = Omit<BookAccount, 'status' | 'lastTouch'> & { lastTouch: { kind: string; at: Date } | null };

export const MINE_PAGE_SIZE = 20;

const COLUMNS = ['Health', 'Account', 'Tier', 'ARR', 'Renewal', 'Last touch'];

/** One account as the cells of its row: what a rep scans to pick the next call. */
export function bookCells(a: BookLine, now: Date): string[] {
  return [
    a.health !== null && a.band ? `${BAND_EMOJI[a.band]} ${a.health} ${a.band}` : '⚪ not scored',
    a.name,
    a.tier ?? '–',
    formatMoney(a.arr, a.currency),
    a.renewalDate ? `${shortDate(a.renewalDate)} (${relativeDays(a.renewalDate, now)})` : 'unknown',
    a.lastTouch ? `${a.lastTouch.kind} ${relativeDays(a.lastTouch.at, now)}` : 'never',
  ];
}

/**
 * A page of the book as a table (riskiest first), a menu that opens any
 * account's card, and the way to the next page. The message's text carries
 * the same rows for notifications and clients that cannot show tables.
 */
export function mineReply(o: { accounts: readonly BookLine[]; total: number; page: number; pages: number; outOfRange: boolean; now: Date }): Reply {
  if (o.total === 0) {
    return ephemeral('You own no accounts yet.', [
      section('You own no accounts yet. `/customer claim <customer>` to take one, or ask a manager to assign you some.'),
    ]);
  }
  const accounts = o.accounts.slice(0, MINE_PAGE_SIZE);
  const cells = accounts.map((a) => bookCells(a, o.now));
  const blocks: Block[] = [header(`My accounts (${o.total})`)];
  if (o.outOfRange) blocks.push(context(`There are only ${o.pages} page${o.pages === 1 ? '' : 's'}; here is the last one.`));
  blocks.push(context(`Riskiest first · page ${o.page} of ${o.pages}`));
  blocks.push(
    table(
      COLUMNS,
      cells.map((row) => row.map(rawCell)),
      ['left', 'left', 'center', 'right', 'left', 'left'],
    ),
  );
  blocks.push(actions('mine_open', openCardMenu(accounts)));
  if (o.pages > 1) {
    blocks.push(divider);
    blocks.push(context(o.page < o.pages ? `\`/customer mine ${o.page + 1}\` for the next page` : `\`/customer mine 1\` for the first page`));
  }
  const fallback = [`Your accounts, page ${o.page} of ${o.pages}:`, ...cells.map((row) => row.join(' · '))].join('\n');
  return ephemeral(fallback, capBlocks(blocks));
}

/** "Open a card…": a menu of this page's accounts (a table cannot hold buttons). */
function openCardMenu(accounts: readonly BookLine[]): SelectElement {
  return {
    type: 'static_select',
    action_id: ACTIONS.openCardMenu,
    placeholder: { type: 'plain_text', text: 'Open a card…' },
    options: accounts.map((a) => ({ text: { type: 'plain_text', text: truncate(a.name, LIMITS.buttonText) }, value: a.id })),
  };
}
