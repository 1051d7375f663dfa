import { Readable } from 'node:stream';
import { importCustomers, importEvents } from '../../src/ingest/import.service.js';
import { upsertMember, upsertTeam } from '../../src/customers/roster.repository.js';
import type { TestDb } from './db.js';

/** Load CSV text through the real import path. */
export async function loadCustomersCsv(db: TestDb, csv: string) {
  return importCustomers(db.db, Readable.from([csv]), 'test.csv');
}
export async function loadEventsCsv(db: TestDb, csv: string) {
  return importEvents(db.pool, Readable.from([csv]), 'events.csv');
}

/** Two teams, a manager and two reps in emea, a rep in apac. */
export async function seedRoster(db: TestDb) {
  const emea = await upsertTeam(db.db, { key: 'emea', name: 'EMEA', channelId: 'C0EMEA', tz: 'Europe/Berlin' });
  const apac = await upsertTeam(db.db, { key: 'apac', name: 'APAC', channelId: 'C0APAC', tz: 'Asia/Shanghai' });
  const manager = await upsertMember(db.db, { slackUserId: 'U0MANAGER', teamId: emea.id, role: 'manager', alertChannelId: null });
  const alice = await upsertMember(db.db, { slackUserId: 'U0ALICE', teamId: emea.id, role: 'rep', alertChannelId: 'C0ALICE' });
  const bob = await upsertMember(db.db, { slackUserId: 'U0BOB', teamId: emea.id, role: 'rep', alertChannelId: null });
  const chen = await upsertMember(db.db, { slackUserId: 'U0CHEN', teamId: apac.id, role: 'rep', alertChannelId: null });
  return { emea, apac, manager, alice, bob, chen };
}

/**
 * Six customers of both teams, one unowned, one with a hostile name. Renewal
 * dates are days from `today` (Acme Corp in 97 days, Globex in 47, 阿里巴巴 in
 * 52) so they stay ahead, and outside the 30-day renewal freeze, on any date.
 */
export function sampleCustomers(today: string = new Date().toISOString().slice(0, 10)): string {
  const day = (n: number) => new Date(Date.parse(`${today}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
  return `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
C1,Acme Corp,acme.com,pro,120000,USD,${day(97)},U0ALICE,emea
C2,Acme Logistics,acmelog.com,basic,12000,USD,,,emea
C3,Globex,globex.com,pro,50000,EUR,${day(47)},U0BOB,emea
C4,阿里巴巴集团,alibaba.com,enterprise,900000,CNY,${day(52)},U0CHEN,apac
C5,Initech,initech.com,basic,8000,USD,,,
C6,<!channel> Evil & Co,evil.example,,1000,USD,,,
`;
}
