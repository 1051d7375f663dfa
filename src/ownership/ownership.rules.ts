/**
 * Pure ownership decisions: who may claim, assign, release and decide
 * disputes; the renewal freeze; what a claim turns into. No database, no
 * Slack, no clock: `now` is passed in.
 */
export type Role = 'rep' | 'manager' | 'admin';

/** The member acting, as the rules need them. */
export interface Actor {
  memberId: number;
  slackUserId: string;
  role: Role;
  teamId: number;
  teamName: string;
}

/** The account as it stands (read under a row lock in the services). */
export interface AccountState {
  ownerMemberId: number | null;
  teamId: number | null;
  /** 'YYYY-MM-DD' */
  renewalDate: string | null;
}

export interface OpenDisputeState {
  claimantMemberId: number;
  ownerMemberId: number | null;
}

const DAY_MS = 86_400_000;

export function isManagerRole(role: Role): boolean {
  return role === 'manager' || role === 'admin';
}

/** Whole days from `now` (UTC calendar date) to a 'YYYY-MM-DD' renewal date; negative when past. */
export function daysUntil(date: string, now: Date): number {
  const d = Date.parse(`${date.slice(0, 10)}T00:00:00Z`);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((d - today) / DAY_MS);
}

/**
 * Ownership freeze: in the last `freezeDays` days before a
 * renewal (renewal day included) a claim needs a manager's approval even on
 * an unowned account. A renewal already past does not freeze; 0 turns it off.
 */
export function inRenewalFreeze(renewalDate: string | null, now: Date, freezeDays: number): boolean {
  if (!renewalDate || freezeDays <= 0) return false;
  const d = daysUntil(renewalDate, now);
  return d >= 0 && d <= freezeDays;
}

export type ClaimDecision =
  | { kind: 'other_team' }
  | { kind: 'already_owner' }
  | { kind: 'dispute_open'; mine: boolean }
  | { kind: 'take' }
  | { kind: 'dispute'; because: 'owned' | 'freeze' };

/**
 * What a claim becomes. Order matters: the team check first (a claim across
 * teams is never a dispute), then "already yours", then one open dispute per
 * account, then unowned-and-not-frozen → taken at once; anything else opens a
 * dispute for a manager to decide.
 */
export function decideClaim(input: {
  actor: Actor;
  account: AccountState;
  openDispute: OpenDisputeState | null;
  now: Date;
  freezeDays: number;
}): ClaimDecision {
  const { actor, account, openDispute } = input;
  if (account.teamId !== null && account.teamId !== actor.teamId) return { kind: 'other_team' };
  if (account.ownerMemberId === actor.memberId) return { kind: 'already_owner' };
  if (openDispute) return { kind: 'dispute_open', mine: openDispute.claimantMemberId === actor.memberId };
  const frozen = inRenewalFreeze(account.renewalDate, input.now, input.freezeDays);
  if (account.ownerMemberId === null && !frozen) return { kind: 'take' };
  return { kind: 'dispute', because: account.ownerMemberId === null ? 'freeze' : 'owned' };
}

export type AssignDecision =
  | { kind: 'ok'; teamId: number | null }
  | { kind: 'refused'; why: 'role' | 'other_team' | 'target_other_team' }
  | { kind: 'already_owner' };

/**
 * Managers assign within their own team; admins anywhere (an admin assigning
 * to a member of another team moves the account to that team). A team-less
 * account joins the new owner's team. The renewal freeze does not apply.
 */
export function decideAssign(actor: Actor, account: AccountState, target: { memberId: number; teamId: number }): AssignDecision {
  if (!isManagerRole(actor.role)) return { kind: 'refused', why: 'role' };
  if (actor.role === 'manager') {
    if (account.teamId !== null && account.teamId !== actor.teamId) return { kind: 'refused', why: 'other_team' };
    if (target.teamId !== actor.teamId) return { kind: 'refused', why: 'target_other_team' };
  }
  if (account.ownerMemberId === target.memberId) return { kind: 'already_owner' };
  const teamId = actor.role === 'admin' ? target.teamId : (account.teamId ?? target.teamId);
  return { kind: 'ok', teamId };
}

export type ReleaseDecision = { kind: 'ok' } | { kind: 'unowned' } | { kind: 'refused'; why: 'role' | 'other_team' };

/** The owner may give an account up; so may a manager of its team, or an admin. */
export function decideRelease(actor: Actor, account: AccountState): ReleaseDecision {
  if (account.ownerMemberId === null) return { kind: 'unowned' };
  if (account.ownerMemberId === actor.memberId || actor.role === 'admin') return { kind: 'ok' };
  if (actor.role === 'manager') {
    return account.teamId === null || account.teamId === actor.teamId ? { kind: 'ok' } : { kind: 'refused', why: 'other_team' };
  }
  return { kind: 'refused', why: 'role' };
}

export type DecideDisputeDecision = { kind: 'ok' } | { kind: 'refused'; why: 'role' | 'other_team' | 'party' };

/**
 * A manager of the account's team, or an admin, decides a dispute — never one
 * of its two parties (a manager who wants an account can assign it openly).
 */
export function decideDisputeDecision(actor: Actor, dispute: OpenDisputeState, accountTeamId: number | null): DecideDisputeDecision {
  if (!isManagerRole(actor.role)) return { kind: 'refused', why: 'role' };
  if (actor.memberId === dispute.claimantMemberId || actor.memberId === dispute.ownerMemberId) return { kind: 'refused', why: 'party' };
  if (actor.role === 'manager' && accountTeamId !== null && accountTeamId !== actor.teamId) return { kind: 'refused', why: 'other_team' };
  return { kind: 'ok' };
}

/**
 * A claim only makes sense while its claimant is an active member of the
 * account's team; otherwise the dispute expires instead of being decided or
 * escalated.
 */
export function claimStillValid(claimant: { active: boolean; teamId: number }, accountTeamId: number | null): boolean {
  return claimant.active && (accountTeamId === null || claimant.teamId === accountTeamId);
}

/** An open dispute is escalated once, when it has waited `afterDays` days undecided. */
export function isEscalationDue(dispute: { openedAt: Date; escalatedAt: Date | null }, now: Date, afterDays: number): boolean {
  return dispute.escalatedAt === null && now.getTime() - dispute.openedAt.getTime() >= afterDays * DAY_MS;
}

/** Cut-off for the escalation scan: disputes opened at or before this are due. */
export function escalationCutoff(now: Date, afterDays: number): Date {
  return new Date(now.getTime() - afterDays * DAY_MS);
}

/** The channel for a personal notice: the member's alert channel, else their DM (a user id means "their DM"). */
export function personalChannel(member: { slackUserId: string; alertChannelId: string | null }): string {
  return member.alertChannelId ?? member.slackUserId;
}

/** `/customer mine` pagination: a page number within 1..pages (pages ≥ 1). */
export function pageWindow(page: number, total: number, pageSize: number): { page: number; pages: number; offset: number; outOfRange: boolean } {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const wanted = Number.isFinite(page) && page >= 1 ? Math.floor(page) : 1;
  const clamped = Math.min(wanted, pages);
  return { page: clamped, pages, offset: (clamped - 1) * pageSize, outOfRange: wanted > pages };
}
