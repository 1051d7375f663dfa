import type { DbOrTrx } from '../platform/db.js';
import type { Member, Role, Team } from './customer.table.js';

export async function upsertTeam(
  db: DbOrTrx,
  team: { key: string; name: string; channelId: string | null; tz: string; digestHour?: number },
): Promise<Team> {
  return db
    .insertInto('teams')
    .values({ key: team.key, name: team.name, channel_id: team.channelId, tz: team.tz, ...(team.digestHour !== undefined ? { digest_hour: team.digestHour } : {}) })
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
  return db.selectFrom('teams').selectAll().where((eb) => eb(eb.fn('lower', ['key']), '=', key.toLowerCase())).executeTakeFirst();
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
