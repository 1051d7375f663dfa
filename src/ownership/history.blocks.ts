import { shortDate } from '../customers/format.js';
import { capBlocks, context, header, quote, section, type Block, type Reply } from '../slack/blocks.js';
import { mention } from '../slack/escape.js';
import { ephemeral } from './ownership.blocks.js';
import type { OwnershipEventKind } from './ownership.table.js';

/** Pure view of `/customer history`: an account's ownership events, newest first. */

export interface HistoryItem {
  kind: OwnershipEventKind;
  fromSlackId: string | null;
  toSlackId: string | null;
  actorSlackId: string | null;
  reason: string | null;
  at: Date;
}

const KIND_LABEL: Record<OwnershipEventKind, string> = {
  import: 'imported',
  claim: 'claimed',
  assign: 'assigned',
  release: 'released',
  dispute_approved: 'claim approved',
  api: 'set by API',
};

export const HISTORY_MAX_EVENTS = 40;
const HISTORY_PER_SECTION = 8;

function historyLine(e: HistoryItem): string {
  const from = e.fromSlackId ? mention(e.fromSlackId) : '_nobody_';
  const to = e.toSlackId ? mention(e.toSlackId) : '_nobody_';
  const by = e.actorSlackId ? ` · by ${mention(e.actorSlackId)}` : '';
  const why = e.reason ? ` · “${quote(e.reason, 200)}”` : '';
  return `*${shortDate(e.at)}* ${e.at.toISOString().slice(11, 16)} UTC · ${KIND_LABEL[e.kind]}: ${from} → ${to}${by}${why}`;
}

/** Ownership events, newest first, within the message block and text limits. */
export function historyReply(customerName: string, events: readonly HistoryItem[], total: number): Reply {
  const blocks: Block[] = [header(`Ownership history: ${customerName}`)];
  if (events.length === 0) {
    blocks.push(section('_No ownership changes recorded yet._'));
  } else {
    const shown = events.slice(0, HISTORY_MAX_EVENTS);
    for (let i = 0; i < shown.length; i += HISTORY_PER_SECTION) {
      blocks.push(
        section(
          shown
            .slice(i, i + HISTORY_PER_SECTION)
            .map(historyLine)
            .join('\n'),
        ),
      );
    }
    if (total > shown.length) blocks.push(context(`…and ${total - shown.length} older event${total - shown.length === 1 ? '' : 's'} not shown`));
  }
  return ephemeral(`Ownership history of ${customerName}: ${total} event${total === 1 ? '' : 's'}`, capBlocks(blocks));
}
