import { safeText } from './escape.js';

/**
 * Minimal Block Kit types and Slack's limits (50 blocks a message, 3,000
 * characters a section, 10 fields a section…), shared by every
 * builder so each one stays inside Slack's limits by construction.
 */
export const LIMITS = {
  blocksPerMessage: 50,
  blocksPerView: 100,
  sectionText: 3_000,
  fieldText: 2_000,
  fieldsPerSection: 10,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2_000,
  contextElements: 10,
  actionsElements: 25,
  fallbackText: 4_000,
  /** A table block: rows including its header row, and cells a row. Slack shows one table per message. */
  tableRows: 100,
  tableCells: 20,
} as const;

export interface TextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: TextObject;
  value?: string;
  style?: 'primary' | 'danger';
  confirm?: unknown;
}
/** A menu of options (the first of each a person sees is its text). */
export interface SelectElement {
  type: 'static_select';
  action_id: string;
  placeholder: TextObject;
  options: { text: TextObject; value: string }[];
}
export type Block =
  | { type: 'header'; text: TextObject; block_id?: string }
  | { type: 'section'; text?: TextObject; fields?: TextObject[]; accessory?: unknown; block_id?: string }
  | { type: 'context'; elements: TextObject[]; block_id?: string }
  | { type: 'actions'; elements: unknown[]; block_id?: string }
  | { type: 'divider'; block_id?: string }
  | { type: 'input'; [key: string]: unknown }
  | { type: 'table'; rows: TableCell[][]; column_settings?: ({ align?: 'left' | 'center' | 'right'; is_wrapped?: boolean } | null)[]; block_id?: string };

/** A table cell: plain text (never parsed, so nothing in it can ping anyone), or rich text for a mention. */
export type TableCell = { type: 'raw_text'; text: string } | { type: 'rich_text'; elements: unknown[] };

export interface Reply {
  /** Fallback text: notifications, screen readers, console mode. */
  text: string;
  blocks: Block[];
  responseType?: 'ephemeral' | 'in_channel';
  replaceOriginal?: boolean;
}

/** Section with already-safe mrkdwn (callers escape untrusted parts). */
export function section(mrkdwn: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(mrkdwn, LIMITS.sectionText) } };
}
export function header(plain: string): Block {
  return { type: 'header', text: { type: 'plain_text', text: clip(plain, LIMITS.headerText), emoji: true } };
}
export function context(...mrkdwn: string[]): Block {
  return { type: 'context', elements: mrkdwn.slice(0, LIMITS.contextElements).map((t) => ({ type: 'mrkdwn', text: clip(t, LIMITS.fieldText) })) };
}
export function fields(pairs: [label: string, value: string][]): Block {
  return {
    type: 'section',
    fields: pairs.slice(0, LIMITS.fieldsPerSection).map(([label, value]) => ({ type: 'mrkdwn', text: clip(`*${label}*\n${value}`, LIMITS.fieldText) })),
  };
}
export function button(actionId: string, label: string, value?: string, style?: 'primary' | 'danger'): ButtonElement {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text: clip(label, LIMITS.buttonText), emoji: true },
    ...(value !== undefined ? { value: clip(value, LIMITS.buttonValue) } : {}),
    ...(style ? { style } : {}),
  };
}
export function actions(blockId: string | undefined, ...elements: (ButtonElement | SelectElement)[]): Block {
  return { type: 'actions', ...(blockId ? { block_id: blockId } : {}), elements: elements.slice(0, LIMITS.actionsElements) };
}
export const divider: Block = { type: 'divider' };

export function rawCell(text: string): TableCell {
  return { type: 'raw_text', text: clip(text.replace(/\s+/g, ' ').trim() || '–', LIMITS.fieldText) };
}
/** A cell naming a Slack user: rendered as their @name, and it notifies nobody. */
export function userCell(slackUserId: string): TableCell {
  return { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'user', user_id: slackUserId }] }] };
}

/**
 * A table: a header row of column names, then up to 99 rows (Slack's limit is
 * 100 rows of 20 cells). `align` sets each column's alignment. Rows beyond the
 * limit are dropped; the caller says how many in the text around it.
 */
export function table(columns: string[], rows: TableCell[][], align: ('left' | 'center' | 'right')[] = []): Block {
  const width = Math.min(columns.length, LIMITS.tableCells);
  return {
    type: 'table',
    ...(align.length ? { column_settings: align.slice(0, width).map((a) => ({ align: a, is_wrapped: true })) } : {}),
    rows: [columns.slice(0, width).map(rawCell), ...rows.slice(0, LIMITS.tableRows - 1).map((r) => r.slice(0, width))],
  };
}

/** A cell as a person reads it: its text, or `@U123` for a user. */
export function cellText(cell: TableCell): string {
  if (cell.type === 'raw_text') return cell.text;
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as { type?: string; text?: string; user_id?: string; elements?: unknown };
      if (o.type === 'user' && o.user_id) parts.push(`@${o.user_id}`);
      else if (o.type === 'text' && typeof o.text === 'string') parts.push(o.text);
      else walk(o.elements);
    }
  };
  walk(cell.elements);
  return parts.join('');
}

/** Hard cut for text already escaped (used as a last guard, not for user text). */
function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

export function plainReply(mrkdwn: string, fallback?: string): Reply {
  return { text: fallback ?? stripMrkdwn(mrkdwn), blocks: [section(mrkdwn)], responseType: 'ephemeral' };
}

/** Safe text for a short quoted snippet of user-supplied content. */
export function quote(text: string, max = 280): string {
  return safeText(text.replace(/\s+/g, ' ').trim(), max);
}

/** Cap a message at Slack's block limit, saying how much was left out. */
export function capBlocks(blocks: Block[], max: number = LIMITS.blocksPerMessage): Block[] {
  if (blocks.length <= max) return blocks;
  const kept = blocks.slice(0, max - 1);
  return [...kept, context(`…and ${blocks.length - kept.length} more blocks not shown`)];
}

export function stripMrkdwn(text: string): string {
  return text
    .replace(/<@([A-Z0-9]+)(\|[^>]*)?>/g, '@$1')
    .replace(/<#([A-Z0-9]+)(\|[^>]*)?>/g, '#$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2')
    .replace(/[*_~`]/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Readable rendering of blocks for console mode and the CLI. */
export function blocksToText(reply: { text: string; blocks?: unknown[] }): string {
  if (!reply.blocks || reply.blocks.length === 0) return stripMrkdwn(reply.text);
  const lines: string[] = [];
  for (const raw of reply.blocks as Block[]) {
    switch (raw.type) {
      case 'header':
        lines.push(`== ${raw.text.text} ==`);
        break;
      case 'section':
        if (raw.text) lines.push(stripMrkdwn(raw.text.text));
        if (raw.fields) for (const f of raw.fields) lines.push(`  ${stripMrkdwn(f.text).replace('\n', ': ').replace(/\n/g, ', ')}`);
        break;
      case 'context':
        lines.push(`  ${raw.elements.map((e) => stripMrkdwn(e.text)).join('  ·  ')}`);
        break;
      case 'actions':
        lines.push(
          `  [${(raw.elements as (ButtonElement | SelectElement)[]).map((e) => (e.type === 'static_select' ? `${e.placeholder.text} ▾` : (e.text?.text ?? '?'))).join('] [')}]`,
        );
        break;
      case 'divider':
        lines.push('  ────────');
        break;
      case 'table':
        for (const row of raw.rows) lines.push(`  ${row.map(cellText).join(' │ ')}`);
        break;
      default:
        break;
    }
  }
  return lines.join('\n');
}

/**
 * A posted message with its status line set: the block `statusBlockId` is
 * replaced by `status` (appended when the message has none yet), and when
 * `removeBlockId` is given that block (the buttons, once the matter is
 * settled) is dropped. Pure; used to edit alerts and reminders in place.
 */
export function withStatusLine(original: readonly Block[], statusBlockId: string, statusMrkdwn: string, removeBlockId?: string): Block[] {
  const status: Block = { ...context(statusMrkdwn), block_id: statusBlockId };
  const out: Block[] = [];
  let placed = false;
  for (const b of original) {
    if (b.block_id === statusBlockId) {
      out.push(status);
      placed = true;
    } else if (removeBlockId === undefined || b.block_id !== removeBlockId) out.push(b);
  }
  if (!placed) out.push(status);
  return out;
}

/**
 * A modal that asks for one choice and an optional note — the shape of every
 * "tell us what happened" form (a follow-up's kind, a churn's reason). The
 * choice's input block is `choice.blockId` and the note's is `note`; both
 * inputs have action id `value`, which is what the listeners read back.
 */
export function choiceAndNoteModal(o: {
  callbackId: string;
  privateMetadata: string;
  title: string;
  submit: string;
  intro: string | null;
  choice: { blockId: string; label: string; options: { label: string; value: string }[]; initial?: string; placeholder?: string };
  noteLabel: string;
}): Record<string, unknown> {
  const option = (x: { label: string; value: string }) => ({ text: { type: 'plain_text', text: x.label }, value: x.value });
  const initial = o.choice.options.find((x) => x.value === o.choice.initial);
  return {
    type: 'modal',
    callback_id: o.callbackId,
    private_metadata: o.privateMetadata,
    title: { type: 'plain_text', text: o.title },
    submit: { type: 'plain_text', text: o.submit },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      ...(o.intro ? [section(o.intro)] : []),
      {
        type: 'input',
        block_id: o.choice.blockId,
        label: { type: 'plain_text', text: o.choice.label },
        element: {
          type: 'static_select',
          action_id: 'value',
          ...(initial ? { initial_option: option(initial) } : {}),
          ...(o.choice.placeholder ? { placeholder: { type: 'plain_text', text: o.choice.placeholder } } : {}),
          options: o.choice.options.map(option),
        },
      },
      {
        type: 'input',
        block_id: 'note',
        optional: true,
        label: { type: 'plain_text', text: o.noteLabel },
        element: { type: 'plain_text_input', action_id: 'value', multiline: true, max_length: 2000 },
      },
    ],
  };
}
