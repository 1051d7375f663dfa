import type { Role } from '../customers/customer.table.js';

/**
 * Who may act on an account's warning or decide its renewal. Pure; roles come
 * from the database (members), never from Slack profiles.
 */
export interface Actor {
  memberId: number;
  slackUserId: string;
  role: Role;
  teamId: number;
}

export interface AccountRef {
  ownerMemberId: number | null;
  teamId: number | null;
}

/** Warnings: the owner, anyone in the account's team (it may be unowned), an admin. */
export function canActOnWarning(actor: Actor | null, account: AccountRef): boolean {
  if (!actor) return false;
  if (actor.role === 'admin' || account.ownerMemberId === actor.memberId) return true;
  return account.teamId === null || account.teamId === actor.teamId;
}

/** Renewal outcomes: only the owner, a manager of the account's team, or an admin. */
export function canDecideRenewal(actor: Actor | null, account: AccountRef): boolean {
  if (!actor) return false;
  if (account.ownerMemberId === actor.memberId || actor.role === 'admin') return true;
  return actor.role === 'manager' && (account.teamId === null || account.teamId === actor.teamId);
}
