/**
 * Slack mrkdwn escaping: only &, < and > are control characters. Escaping them
 * in every user- or customer-supplied string keeps `<!channel>` inert.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cut to `max` characters (by code point), marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Escape then cut, so an escape sequence is never split in half. */
export function safeText(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (Array.from(escaped).length <= max) return escaped;
  // Cut the raw text progressively until its escaped form fits.
  let raw = Array.from(text);
  let out = escaped;
  while (Array.from(out).length > max && raw.length > 0) {
    const over = Array.from(out).length - max + 1;
    raw = raw.slice(0, Math.max(0, raw.length - Math.max(1, Math.ceil(over / 5))));
    out = `${escapeMrkdwn(raw.join(''))}…`;
  }
  return out;
}

/** A Slack user mention for an id we trust (from our database or Slack itself). */
export function mention(slackUserId: string | null | undefined): string {
  if (!slackUserId || !/^[UW][A-Z0-9]{2,}$/.test(slackUserId)) return slackUserId ? escapeMrkdwn(slackUserId) : 'nobody';
  return `<@${slackUserId}>`;
}

export function channelLink(channelId: string | null | undefined): string {
  if (!channelId || !/^[CGD][A-Z0-9]{2,}$/.test(channelId)) return channelId ? escapeMrkdwn(channelId) : 'no channel';
  return `<#${channelId}>`;
}
