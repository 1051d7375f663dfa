import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  claimStillValid,
  daysUntil,
  decideAssign,
  decideClaim,
  decideDisputeDecision,
  decideRelease,
  escalationCutoff,
  inRenewalFreeze,
  isEscalationDue,
  pageWindow,
  personalChannel,
  type Actor,
  type Role,
} from '../../src/ownership/ownership.rules.js';

const now = new Date('2026-11-24T10:00:00Z');
const actor = (memberId: number, role: Role = 'rep', teamId = 1): Actor => ({ memberId, slackUserId: `U${memberId}`, role, teamId, teamName: `T${teamId}` });
const account = (o: { owner?: number | null; team?: number | null; renewal?: string | null } = {}) => ({
  ownerMemberId: o.owner ?? null,
  teamId: o.team === undefined ? 1 : o.team,
  renewalDate: o.renewal ?? null,
});

describe('renewal freeze', () => {
  it('counts whole UTC days to the renewal', () => {
    expect(daysUntil('2026-11-24', now)).toBe(0);
    expect(daysUntil('2026-12-24', now)).toBe(30);
    expect(daysUntil('2026-11-20', now)).toBe(-4);
  });

  it.each([
    ['2026-11-24', true], // renewal day itself
    ['2026-12-24', true], // exactly 30 days
    ['2026-12-25', false], // 31 days
    ['2026-11-23', false], // already past
    [null, false],
  ])('renewal %s → frozen %s', (renewal, frozen) => {
    expect(inRenewalFreeze(renewal, now, 30)).toBe(frozen);
  });

  it('is off with freezeDays 0', () => {
    expect(inRenewalFreeze('2026-11-24', now, 0)).toBe(false);
  });
});

describe('decideClaim', () => {
  const base = { now, freezeDays: 30, openDispute: null };
  it('takes an unowned account of my team outside the freeze', () => {
    expect(decideClaim({ ...base, actor: actor(1), account: account() })).toEqual({ kind: 'take' });
  });
  it('takes a team-less account (it joins my team)', () => {
    expect(decideClaim({ ...base, actor: actor(1), account: account({ team: null }) })).toEqual({ kind: 'take' });
  });
  it('opens a dispute on an owned account', () => {
    expect(decideClaim({ ...base, actor: actor(1), account: account({ owner: 2 }) })).toEqual({ kind: 'dispute', because: 'owned' });
  });
  it('opens a dispute on an unowned account inside the freeze', () => {
    expect(decideClaim({ ...base, actor: actor(1), account: account({ renewal: '2026-12-01' }) })).toEqual({ kind: 'dispute', because: 'freeze' });
  });
  it('says I already own it (even inside the freeze, even with a dispute open)', () => {
    expect(
      decideClaim({ ...base, actor: actor(1), account: account({ owner: 1, renewal: '2026-12-01' }), openDispute: { claimantMemberId: 3, ownerMemberId: 1 } }),
    ).toEqual({ kind: 'already_owner' });
  });
  it('refuses another team first', () => {
    expect(decideClaim({ ...base, actor: actor(1), account: account({ team: 2, owner: 1 }) })).toEqual({ kind: 'other_team' });
  });
  it('one open dispute per account: says whose it is', () => {
    const open = { claimantMemberId: 3, ownerMemberId: 2 };
    expect(decideClaim({ ...base, actor: actor(1), account: account({ owner: 2 }), openDispute: open })).toEqual({ kind: 'dispute_open', mine: false });
    expect(decideClaim({ ...base, actor: actor(3), account: account({ owner: 2 }), openDispute: open })).toEqual({ kind: 'dispute_open', mine: true });
  });
  it('never takes an owned or frozen account (property)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 1, max: 5 }), { nil: null }),
        fc.option(fc.integer({ min: -40, max: 400 }), { nil: null }),
        fc.integer({ min: 1, max: 5 }),
        (owner, days, me) => {
          const renewal = days === null ? null : new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);
          const d = decideClaim({ ...base, actor: actor(me), account: account({ owner, renewal }) });
          if (d.kind === 'take') {
            expect(owner).toBeNull();
            expect(inRenewalFreeze(renewal, now, 30)).toBe(false);
          }
          if (owner === me) expect(d.kind).toBe('already_owner');
        },
      ),
    );
  });
});

describe('decideAssign', () => {
  it('is for managers and admins only', () => {
    expect(decideAssign(actor(1, 'rep'), account({ owner: 2 }), { memberId: 3, teamId: 1 })).toEqual({ kind: 'refused', why: 'role' });
  });
  it('lets a manager assign within the team, ignoring the freeze', () => {
    expect(decideAssign(actor(9, 'manager'), account({ owner: 2, renewal: '2026-11-25' }), { memberId: 3, teamId: 1 })).toEqual({ kind: 'ok', teamId: 1 });
  });
  it('keeps managers inside their team', () => {
    expect(decideAssign(actor(9, 'manager'), account({ team: 2 }), { memberId: 3, teamId: 2 })).toEqual({ kind: 'refused', why: 'other_team' });
    expect(decideAssign(actor(9, 'manager'), account(), { memberId: 3, teamId: 2 })).toEqual({ kind: 'refused', why: 'target_other_team' });
  });
  it('lets an admin move an account to another team', () => {
    expect(decideAssign(actor(9, 'admin', 5), account({ team: 1 }), { memberId: 3, teamId: 2 })).toEqual({ kind: 'ok', teamId: 2 });
  });
  it('says when the target already owns it', () => {
    expect(decideAssign(actor(9, 'manager'), account({ owner: 3 }), { memberId: 3, teamId: 1 })).toEqual({ kind: 'already_owner' });
  });
  it('gives a team-less account the team', () => {
    expect(decideAssign(actor(9, 'manager'), account({ team: null }), { memberId: 3, teamId: 1 })).toEqual({ kind: 'ok', teamId: 1 });
  });
});

describe('decideRelease', () => {
  it('owner, manager of the team, admin', () => {
    expect(decideRelease(actor(2), account({ owner: 2 }))).toEqual({ kind: 'ok' });
    expect(decideRelease(actor(9, 'manager'), account({ owner: 2 }))).toEqual({ kind: 'ok' });
    expect(decideRelease(actor(9, 'admin', 7), account({ owner: 2 }))).toEqual({ kind: 'ok' });
  });
  it('refuses others, saying why', () => {
    expect(decideRelease(actor(3), account({ owner: 2 }))).toEqual({ kind: 'refused', why: 'role' });
    expect(decideRelease(actor(9, 'manager', 2), account({ owner: 2, team: 1 }))).toEqual({ kind: 'refused', why: 'other_team' });
  });
  it('an unowned account has nothing to release', () => {
    expect(decideRelease(actor(9, 'manager'), account())).toEqual({ kind: 'unowned' });
  });
});

describe('decideDisputeDecision', () => {
  const d = { claimantMemberId: 1, ownerMemberId: 2 };
  it('managers of the team and admins decide', () => {
    expect(decideDisputeDecision(actor(9, 'manager'), d, 1)).toEqual({ kind: 'ok' });
    expect(decideDisputeDecision(actor(9, 'admin', 4), d, 1)).toEqual({ kind: 'ok' });
  });
  it('reps cannot', () => {
    expect(decideDisputeDecision(actor(5), d, 1)).toEqual({ kind: 'refused', why: 'role' });
  });
  it('parties cannot, even as managers', () => {
    expect(decideDisputeDecision(actor(1, 'manager'), d, 1)).toEqual({ kind: 'refused', why: 'party' });
    expect(decideDisputeDecision(actor(2, 'admin'), d, 1)).toEqual({ kind: 'refused', why: 'party' });
  });
  it('managers of another team cannot', () => {
    expect(decideDisputeDecision(actor(9, 'manager', 2), d, 1)).toEqual({ kind: 'refused', why: 'other_team' });
  });
});

describe('claimStillValid', () => {
  it('needs an active claimant in the account’s team', () => {
    expect(claimStillValid({ active: true, teamId: 1 }, 1)).toBe(true);
    expect(claimStillValid({ active: true, teamId: 1 }, null)).toBe(true);
    expect(claimStillValid({ active: false, teamId: 1 }, 1)).toBe(false);
    expect(claimStillValid({ active: true, teamId: 2 }, 1)).toBe(false);
  });
});

describe('escalation', () => {
  const opened = new Date('2026-11-21T10:00:00Z');
  it('is due after exactly escalateAfterDays, once', () => {
    expect(isEscalationDue({ openedAt: opened, escalatedAt: null }, new Date('2026-11-24T09:59:59Z'), 3)).toBe(false);
    expect(isEscalationDue({ openedAt: opened, escalatedAt: null }, now, 3)).toBe(true);
    expect(isEscalationDue({ openedAt: opened, escalatedAt: now }, now, 3)).toBe(false);
    expect(escalationCutoff(now, 3).toISOString()).toBe(opened.toISOString());
  });
});

describe('small helpers', () => {
  it('personal channel: alert channel, else the DM', () => {
    expect(personalChannel({ slackUserId: 'U1', alertChannelId: 'C9' })).toBe('C9');
    expect(personalChannel({ slackUserId: 'U1', alertChannelId: null })).toBe('U1');
  });
  it('pages clamp to the last page', () => {
    expect(pageWindow(1, 0, 20)).toEqual({ page: 1, pages: 1, offset: 0, outOfRange: false });
    expect(pageWindow(2, 26, 20)).toEqual({ page: 2, pages: 2, offset: 20, outOfRange: false });
    expect(pageWindow(9, 26, 20)).toEqual({ page: 2, pages: 2, offset: 20, outOfRange: true });
  });
});
