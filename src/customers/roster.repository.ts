import type { DbOrTrx } from '../platform/db.js';
import type { Member, Role, Team } from './customer.table.js';

export async function upsertTeam(db: DbOrTrx, team: { key: string; name: string; channelId: string | null; tz: string; digestHour?: number }): Promise<Team> {
  return db
    .insertInto('teams')
    .values({
      key: team.key,
      name: team.name,
      channel_id: team.channelId,
      tz: team.tz,
      ...(team.digestHour !== undefined ? { digest_hour: team.digestHour } : {}),
    })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        channel_id: eb.fn.coalesce('excluded.channel_id', 'teams.channel_id'),
        tz: eb.ref('excluded.tz'),
        digest_hour: eb.ref('excluded.digest_hour'),
        updated_at: new Date(),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTeamByKey(db: DbOrTrx, key: string): Promise<Team | undefined> {
  return db
    .selectFrom('teams')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['key']), '=', key.toLowerCase()))
    .executeTakeFirst();
}

export async function listTeams(db: DbOrTrx): Promise<Team[]> {
  return db.selectFrom('teams').selectAll().orderBy('key').execute();
}

export async function upsertMember(
  db: DbOrTrx,
  member: { slackUserId: string; teamId: number; role: Role; alertChannelId: string | null; displayName?: string | null },
): Promise<Member> {
  return db
    .insertInto('members')
    .values({
      slack_user_id: member.slackUserId,
      team_id: member.teamId,
      role: member.role,
      alert_channel_id: member.alertChannelId,
      display_name: member.displayName ?? null,
    })
    .onConflict((oc) =>
      oc.column('slack_user_id').doUpdateSet((eb) => ({
        team_id: eb.ref('excluded.team_id'),
        role: eb.ref('excluded.role'),
        alert_channel_id: eb.fn.coalesce('excluded.alert_channel_id', 'members.alert_channel_id'),
        display_name: eb.fn.coalesce('excluded.display_name', 'members.display_name'),
        active: true,
        updated_at: new Date(),
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findMember(db: DbOrTrx, slackUserId: string): Promise<(Member & { team_key: string; team_channel_id: string | null }) | undefined> {
  return db
    .selectFrom('members as m')
    .innerJoin('teams as t', 't.id', 'm.team_id')
    .selectAll('m')
    .select(['t.key as team_key', 't.channel_id as team_channel_id'])
    .where('m.slack_user_id', '=', slackUserId)
    .where('m.active', '=', true)
    .executeTakeFirst();
}

/** An active member as the bot sees them when they act: role, team and where to reach them. */
export interface MemberInfo {
  memberId: number;
  slackUserId: string;
  role: Role;
  teamId: number;
  teamName: string;
  alertChannelId: string | null;
  teamChannelId: string | null;
  active: boolean;
}

const memberSelect = [
  'm.id as member_id',
  'm.slack_user_id',
  'm.role',
  'm.team_id',
  'm.alert_channel_id',
  't.name as team_name',
  't.channel_id as team_channel_id',
  'm.active',
] as const;

function toMember(r: {
  member_id: number;
  slack_user_id: string;
  role: Role;
  team_id: number;
  alert_channel_id: string | null;
  team_name: string;
  team_channel_id: string | null;
  active: boolean;
}): MemberInfo {
  return {
    memberId: r.member_id,
    slackUserId: r.slack_user_id,
    role: r.role,
    teamId: r.team_id,
    teamName: r.team_name,
    alertChannelId: r.alert_channel_id,
    teamChannelId: r.team_channel_id,
    active: r.active,
  };
}

/** An active member by Slack user id, with their team; undefined for strangers. */
export async function findActor(db: DbOrTrx, slackUserId: string): Promise<MemberInfo | undefined> {
  const r = await db
    .selectFrom('members as m')
    .innerJoin('teams as t', 't.id', 'm.team_id')
    .select(memberSelect)
    .where('m.slack_user_id', '=', slackUserId)
    .where('m.active', '=', true)
    .executeTakeFirst();
  return r ? toMember(r) : undefined;
}

/** A member by id, active or not (a claimant or owner may have left since). */
export async function findMemberById(db: DbOrTrx, memberId: number): Promise<MemberInfo | undefined> {
  const r = await db
    .selectFrom('members as m')
    .innerJoin('teams as t', 't.id', 'm.team_id')
    .select(memberSelect)
    .where('m.id', '=', memberId)
    .executeTakeFirst();
  return r ? toMember(r) : undefined;
}

/** Slack ids of a team's active managers (for "who can do it" answers and fallbacks). */
export async function listTeamManagers(db: DbOrTrx, teamId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('members')
    .select('slack_user_id')
    .where('team_id', '=', teamId)
    .where('role', '=', 'manager')
    .where('active', '=', true)
    .orderBy('slack_user_id')
    .limit(10)
    .execute();
  return rows.map((r) => r.slack_user_id);
}

export async function listAdmins(db: DbOrTrx): Promise<string[]> {
  const rows = await db
    .selectFrom('members')
    .select('slack_user_id')
    .where('role', '=', 'admin')
    .where('active', '=', true)
    .orderBy('slack_user_id')
    .limit(10)
    .execute();
  return rows.map((r) => r.slack_user_id);
}

export async function findTeam(db: DbOrTrx, teamId: number): Promise<{ id: number; name: string; channelId: string | null } | undefined> {
  const r = await db.selectFrom('teams').select(['id', 'name', 'channel_id']).where('id', '=', teamId).executeTakeFirst();
  return r ? { id: r.id, name: r.name, channelId: r.channel_id } : undefined;
}
