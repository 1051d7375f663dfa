/**
 * What a person reads in a message, a block list, one block, a modal or a
 * Home view: the text objects, in order. Tests assert on this, never on the
 * JSON of the blocks (action ids, values and metadata are nobody's reading,
 * and JSON escapes quotes and newlines).
 */

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string };

/** A table cell as a person reads it: raw text, or a mention written `<@U123>` as elsewhere. */
function cellText(cell: unknown): string {
  const c = cell as { type?: string; text?: string; user_id?: string; elements?: unknown[] };
  if (c.type === 'raw_text' || c.type === 'text') return c.text ?? '';
  if (c.type === 'user') return `<@${c.user_id}>`;
  return (c.elements ?? []).map(cellText).join('');
}

function textObjects(x: unknown, out: TextObject[] = []): TextObject[] {
  if (Array.isArray(x)) {
    for (const v of x) textObjects(v, out);
  } else if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    // A table reads row by row, its cells separated by " | "; raw text is never parsed, so it is plain.
    if (o.type === 'table' && Array.isArray(o.rows)) {
      for (const row of o.rows as unknown[][]) out.push({ type: 'plain_text', text: row.map(cellText).join(' | ') });
      return out;
    }
    if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o as TextObject);
    // A message's own `text` is its notification fallback (a string), not a text object.
    for (const v of Object.values(o)) if (v && typeof v === 'object') textObjects(v, out);
  }
  return out;
}

/**
 * Every mrkdwn and plain_text text, one per line: headers, sections, fields,
 * context, button labels, options. A message without blocks shows its `text`.
 */
export function visibleText(x: unknown): string {
  if (isMessage(x) && !Array.isArray(x.blocks)) return x.text;
  return textObjects(x)
    .map((t) => t.text)
    .join('\n');
}

/**
 * Only the mrkdwn texts, one per line: what Slack parses for mentions, links
 * and `<!channel>` (a message without blocks: its `text`). Escaping checks
 * read this; a plain_text (a header) shows a customer's `<!channel>` as typed
 * and pings nobody.
 */
export function mrkdwnText(x: unknown): string {
  if (isMessage(x) && !Array.isArray(x.blocks)) return x.text;
  return textObjects(x)
    .filter((t) => t.type === 'mrkdwn')
    .map((t) => t.text)
    .join('\n');
}

/** The action ids of the buttons and menus a person can use. */
export function actionIds(x: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.action_id === 'string') out.push(o.action_id);
      Object.values(o).forEach(walk);
    }
  };
  walk(x);
  return out;
}

/** A message payload (reply, post, update): a `text` string and no block or text-object `type`. */
function isMessage(x: unknown): x is { text: string; blocks?: unknown } {
  return (
    !!x && typeof x === 'object' && !Array.isArray(x) && typeof (x as { text?: unknown }).text === 'string' && (x as { type?: unknown }).type === undefined
  );
}
