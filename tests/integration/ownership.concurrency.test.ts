import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findActor, upsertMember, upsertTeam, type MemberInfo } from '../../src/customers/roster.repository.js';
import { changeOwner } from '../../src/ownership/ownership.repository.js';
import { assignAccount, releaseAccount } from '../../src/ownership/assign.service.js';
import { claimAccount, type ClaimResult } from '../../src/ownership/claim.service.js';
import { decideDispute } from '../../src/ownership/dispute.service.js';
import type { AppContext } from '../../src/platform/context.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/**
 * Contested ownership writes against the real database: many claims at once,
 * and claims, approvals, rejections, assignments and releases racing on one
 * account. Never two owners, never a lost event, never two open disputes.
 */
let app: TestApp;
let ctx: AppContext;
let teamId: number;
const reps: MemberInfo[] = [];
let manager: MemberInfo;
let manager2: MemberInfo;
let admin: MemberInfo;
let seq = 0;

async function newCustomer(o: { owner?: MemberInfo; renewal?: string } = {}): Promise<string> {
  const r = await app.db.db
    .insertInto('customers')
    .values({
      external_id: `X${++seq}`,
      name: `Contested ${seq}`,
      team_id: teamId,
      owner_member_id: o.owner?.memberId ?? null,
      owner_since: o.owner ? new Date() : null,
      renewal_date: o.renewal ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

const ownerOf = async (customerId: string) =>
  (await app.db.db.selectFrom('customers').select('owner_member_id').where('id', '=', customerId).executeTakeFirstOrThrow()).owner_member_id;
const eventsOf = (customerId: string) => app.db.db.selectFrom('ownership_events').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();
const disputesOf = (customerId: string) => app.db.db.selectFrom('disputes').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();

/** The audit trail replays to the stored owner: each event starts where the previous one ended. */
async function expectConsistent(customerId: string, initialOwner: number | null) {
  const events = await eventsOf(customerId);
  let owner = initialOwner;
  for (const e of events) {
    expect(e.from_member_id, `event ${e.id} (${e.kind}) starts from the owner before it`).toBe(owner);
    expect(e.to_member_id).not.toBe(e.from_member_id);
    owner = e.to_member_id;
  }
  expect(await ownerOf(customerId)).toBe(owner);
  const disputes = await disputesOf(customerId);
  expect(disputes.filter((d) => d.status === 'open').length).toBeLessThanOrEqual(1);
  for (const d of disputes.filter((x) => x.status === 'approved')) {
    expect(events.filter((e) => e.kind === 'dispute_approved' && e.dispute_id === d.id)).toHaveLength(1);
  }
  for (const d of disputes.filter((x) => x.status !== 'approved')) {
    expect(events.filter((e) => e.dispute_id === d.id)).toHaveLength(0);
  }
  return { events, disputes };
}

beforeAll(async () => {
  app = await startTestApp('ownconc');
  ctx = app.running.ctx;
  const team = await upsertTeam(app.db.db, { key: 'conc', name: 'Contest', channelId: 'C0CONC', tz: 'UTC' });
  teamId = team.id;
  for (let i = 0; i < 50; i++) {
    await upsertMember(app.db.db, { slackUserId: `U0R${String(i).padStart(2, '0')}`, teamId, role: 'rep', alertChannelId: null });
    reps.push((await findActor(app.db.db, `U0R${String(i).padStart(2, '0')}`))!);
  }
  await upsertMember(app.db.db, { slackUserId: 'U0M1', teamId, role: 'manager', alertChannelId: null });
  await upsertMember(app.db.db, { slackUserId: 'U0M2', teamId, role: 'manager', alertChannelId: null });
  await upsertMember(app.db.db, { slackUserId: 'U0ADM', teamId, role: 'admin', alertChannelId: null });
  manager = (await findActor(app.db.db, 'U0M1'))!;
  manager2 = (await findActor(app.db.db, 'U0M2'))!;
  admin = (await findActor(app.db.db, 'U0ADM'))!;
});
afterAll(async () => app?.stop());

describe('50 simultaneous claims', () => {
  it('on one unowned account: exactly one owner, one claim event, at most one dispute', async () => {
    const customerId = await newCustomer();
    const results = await Promise.all(reps.map((r) => claimAccount(ctx, r, customerId, `claim by ${r.slackUserId}`)));
    const kinds = results.map((r) => r.kind);
    const taken = results.filter((r): r is Extract<ClaimResult, { kind: 'taken' }> => r.kind === 'taken');
    expect(taken).toHaveLength(1);
    expect(kinds.filter((k) => k === 'dispute').length).toBeLessThanOrEqual(1);
    expect(kinds.every((k) => k === 'taken' || k === 'dispute' || k === 'dispute_open')).toBe(true);

    const winner = reps[results.findIndex((r) => r.kind === 'taken')]!;
    expect(await ownerOf(customerId)).toBe(winner.memberId);
    const { events, disputes } = await expectConsistent(customerId, null);
    expect(events.map((e) => [e.kind, e.to_member_id])).toEqual([['claim', winner.memberId]]);
    expect(disputes.length).toBe(kinds.filter((k) => k === 'dispute').length);
    if (disputes.length) expect(disputes[0]).toMatchObject({ status: 'open', owner_member_id: winner.memberId });
  });

  it('inside the renewal freeze: nobody takes it, exactly one dispute opens', async () => {
    const soon = new Date(ctx.clock.now().getTime() + 10 * 86_400_000).toISOString().slice(0, 10);
    const customerId = await newCustomer({ renewal: soon });
    const results = await Promise.all(reps.map((r) => claimAccount(ctx, r, customerId, null)));
    expect(results.filter((r) => r.kind === 'dispute')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'dispute_open')).toHaveLength(49);
    expect(await ownerOf(customerId)).toBeNull();
    expect(await eventsOf(customerId)).toHaveLength(0);
    expect((await disputesOf(customerId)).map((d) => d.status)).toEqual(['open']);
  });
});

describe('claims, approvals, rejections, assignments and releases racing on one account', () => {
  it('keep one owner and an unbroken audit trail, round after round', async () => {
    for (let round = 0; round < 12; round++) {
      const [owner, claimant, a, b, c, d] = [0, 1, 2, 3, 4, 5].map((k) => reps[(round * 6 + k) % 50]!);
      const customerId = await newCustomer({ owner: owner! });
      const opened = await claimAccount(ctx, claimant!, customerId, 'I know them');
      expect(opened.kind).toBe('dispute');
      const disputeId = (opened as Extract<ClaimResult, { kind: 'dispute' }>).disputeId;

      const ops = [
        () => decideDispute(ctx, manager, disputeId, 'approve'),
        () => decideDispute(ctx, manager2, disputeId, 'reject'),
        () => assignAccount(ctx, manager, customerId, a!.slackUserId, 'rebalancing'),
        () => assignAccount(ctx, admin, customerId, b!.slackUserId, null),
        () => releaseAccount(ctx, owner!, customerId),
        () => claimAccount(ctx, c!, customerId, null),
        () => claimAccount(ctx, d!, customerId, null),
        () => decideDispute(ctx, admin, disputeId, round % 2 ? 'approve' : 'reject'),
      ];
      // A different start order each round.
      const rotated = ops.map((_, i) => ops[(i + round) % ops.length]!);
      const results = await Promise.all((round % 2 ? rotated.reverse() : rotated).map((op) => op()));

      const decided = results.filter((r) => r.kind === 'decided');
      expect(decided.length).toBeLessThanOrEqual(1);
      const { disputes } = await expectConsistent(customerId, owner!.memberId);
      const first = disputes.find((x) => x.id === disputeId)!;
      expect(first.status).not.toBe('open');
      if (decided.length === 1) expect(first.status).toBe((decided[0] as { status: string }).status);
    }
  });

  it('a conditional update with a stale expected owner changes nothing', async () => {
    const customerId = await newCustomer({ owner: reps[0]! });
    const changed = await changeOwner(app.db.db, { customerId, expected: reps[1]!.memberId, next: reps[2]!.memberId, teamId, now: new Date() });
    expect(changed).toBe(false);
    expect(await ownerOf(customerId)).toBe(reps[0]!.memberId);
  });
});
