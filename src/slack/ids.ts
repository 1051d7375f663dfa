/**
 * Every action, callback and view id in one place, used by the Block Kit
 * builders and the listeners alike (STYLE.md).
 */
export const ACTIONS = {
  openCard: 'customer_open_card',
  shareCard: 'customer_share_card',
} as const;

export const COMMANDS = {
  customer: '/customer',
  feedback: '/feedback',
} as const;
