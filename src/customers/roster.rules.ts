import type { Role } from './customer.table.js';

/** Pure checks for teams and members (CLI and any future admin surface). */
export const ROLES: readonly Role[] = ['rep', 'manager', 'admin'];

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function checkTeamKey(key: string): string | null {
  return /^[a-z0-9][a-z0-9_-]{0,39}$/i.test(key) ? null : `team key "${key}" must be 1–40 letters, digits, - or _`;
}

export function checkChannelId(channel: string): string | null {
  return /^[CGD][A-Z0-9]{2,}$/.test(channel)
    ? null
    : `channel "${channel}" is not a Slack channel id (like C012ABCDEF; in Slack: channel details → bottom of the About tab)`;
}

export function checkSlackUserId(id: string): string | null {
  return /^[UW][A-Z0-9]{2,}$/.test(id) ? null : `"${id}" is not a Slack user id (like U012ABCDEF; in Slack: profile → ⋮ → Copy member ID)`;
}
