import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Feature } from '../../src/feature.js';
import { features } from '../../src/features.js';
import { plainReply } from '../../src/slack/blocks.js';
import { SIGNING_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { loadCustomersCsv, seedRoster } from '../helpers/fixtures.js';
import { slash } from '../helpers/interact.js';
import { postSigned, slashBody } from '../helpers/signed.js';
import { visibleText } from '../helpers/text.js';

/**
 * Names typed the way reps type them: "<customer> <more text>" with no quotes
 * or separator. The customer is the longest leading run of words that names
 * customers exactly; a choice appears only when that name is shared.
 */
let app: TestApp;
const BOOK = `external_id,name,domain,plan,arr,currency,renewal_date,owner_slack_id,team
F1,Falcon,falcon.example,pro,10000,USD,,,emea
F2,Falcon Hospitality,falconhosp.example,pro,20000,USD,,,emea
F3,Falcon Hospitality Group,fhg.example,pro,30000,USD,,U0ALICE,emea
A1,Acme Logistics,acmelog.example,pro,40000,USD,,,emea
S1,Shared Name Co,shared1.example,pro,5000,USD,,,emea
S2,Shared Name Co,shared2.example,pro,6000,USD,,,emea
`;
const lastFeedback = () =>
  app.db.db
    .selectFrom('feedback as f')
    .innerJoin('customers as c', 'c.id', 'f.customer_id')
    .select(['c.name', 'f.text', 'f.kind'])
    .orderBy('f.id', 'desc')
    .executeTakeFirstOrThrow();
const lastTouch = () =>
  app.db.db
    .selectFrom('interactions as i')
    .innerJoin('customers as c', 'c.id', 'i.customer_id')
    .select(['c.name', 'i.kind', 'i.note'])
    .orderBy('i.id', 'desc')
    .executeTakeFirstOrThrow();

beforeAll(async () => {
  app = await startTestApp('lookupnames');
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, BOOK);
});
afterAll(async () => app?.stop());

describe('a customer named at the start of the text', () => {
  it('/feedback: the full name followed by a tag is the customer, not a choice for its first word', async () => {
    const r = await slash(app, '/feedback', 'falcon hospitality group #praise the team loves the new dashboards', 'U0ALICE');
    expect(visibleText(r)).toContain('*Falcon Hospitality Group*');
    expect(visibleText(r)).not.toContain('Which one?');
    expect(await lastFeedback()).toMatchObject({ name: 'Falcon Hospitality Group', kind: 'praise' });
    expect((await lastFeedback()).text).toContain('the team loves the new dashboards');
  });

  it('a name that is a prefix of another name is found when only it fits', async () => {
    await slash(app, '/feedback', 'FALCON HOSPITALITY the breakfast was cold #complaint', 'U0ALICE');
    expect(await lastFeedback()).toMatchObject({ name: 'Falcon Hospitality', kind: 'complaint' });
    await slash(app, '/feedback', 'falcon quick question about invoices', 'U0ALICE');
    expect(await lastFeedback()).toMatchObject({ name: 'Falcon' });
  });

  it('/customer log: the name, then the kind of touch and the note', async () => {
    const r = await slash(app, '/customer', 'log falcon hospitality group call walked through the renewal', 'U0ALICE');
    expect(visibleText(r)).not.toContain('Which one?');
    expect(await lastTouch()).toMatchObject({ name: 'Falcon Hospitality Group', kind: 'call', note: 'walked through the renewal' });
  });

  it('/customer claim: the name, then the reason, without "--"', async () => {
    const r = await slash(app, '/customer', 'claim acme logistics they asked for me', 'U0BOB');
    expect(visibleText(r)).toContain('Acme Logistics');
    const ev = await app.db.db
      .selectFrom('ownership_events as e')
      .innerJoin('customers as c', 'c.id', 'e.customer_id')
      .select(['c.name', 'e.reason'])
      .where('c.name', '=', 'Acme Logistics')
      .orderBy('e.id', 'desc')
      .executeTakeFirstOrThrow();
    expect(ev).toEqual({ name: 'Acme Logistics', reason: 'they asked for me' });
  });

  it('/customer assign: the name before the mention, the reason after it', async () => {
    const r = await slash(app, '/customer', 'assign falcon hospitality <@U0BOB|bob> covering for Alice', 'U0MANAGER');
    expect(visibleText(r)).toContain('Falcon Hospitality');
    const owner = await app.db.db
      .selectFrom('customers as c')
      .innerJoin('members as m', 'm.id', 'c.owner_member_id')
      .select('m.slack_user_id')
      .where('c.external_id', '=', 'F2')
      .executeTakeFirstOrThrow();
    expect(owner.slack_user_id).toBe('U0BOB');
  });

  it('a shared exact name offers the choice, each button finishing the command', async () => {
    const r = await slash(app, '/feedback', 'shared name co thanks for the quick fix', 'U0ALICE');
    expect(visibleText(r)).toContain('Which one?');
    const buttons = r.blocks.flatMap((b: any) => (b.type === 'actions' ? b.elements : []));
    expect(buttons).toHaveLength(2);
    expect(buttons.every((b: any) => JSON.parse(b.value).t.includes('thanks for the quick fix'))).toBe(true);
  });
});

describe('overload', () => {
  let busy: TestApp;
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  // A slash command that holds its turn until the test lets go: the process is at its bound meanwhile.
  const holder: Feature = {
    name: 'test-holder',
    slash: {
      '/hold': async () => {
        await held;
        return plainReply('released');
      },
    },
  };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'retain-busy-'));
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ slash: { maxConcurrent: 1, maxWaitMs: 1_000, maxQueued: 1 } }));
    busy = await startTestApp('lookupbusy', { env: { RETAIN_CONFIG: configPath }, features: [...features, holder] });
    await seedRoster(busy.db);
    await loadCustomersCsv(busy.db, BOOK);
  });
  afterAll(async () => busy?.stop());

  it('beyond the bound a command is acked and told "busy" at once, nothing changed; then it is served again', async () => {
    const first = slash(busy, '/hold' as never, '', 'U0ALICE');
    await new Promise((r) => setTimeout(r, 200));
    // This one waits its turn (the one place in the queue) until it gives up.
    const queued = slash(busy, '/feedback', 'acme logistics great onboarding', 'U0ALICE');
    await new Promise((r) => setTimeout(r, 200));
    // With the queue full too, the next is told "busy" in the answer to its request, with nothing sent to its response_url.
    const atOnce = await postSigned(
      busy.eventsUrl,
      SIGNING_SECRET,
      slashBody({ command: '/customer', text: 'acme logistics', userId: 'U0ALICE', responseUrl: `${busy.slack.responseBase}/at-once` }),
    );
    expect(atOnce.status).toBe(200);
    expect(visibleText(JSON.parse(atOnce.text))).toContain('retain is busy — try again in a few seconds');
    const refused = await queued;
    expect(busy.slack.responses.some((r) => r.id === 'at-once')).toBe(false);
    expect(visibleText(refused)).toContain('retain is busy — try again in a few seconds');
    expect(visibleText(refused)).not.toContain('cannot reach its database');
    expect(
      await busy.db.db
        .selectFrom('feedback')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow(),
    ).toEqual({ n: '0' });
    release();
    expect(visibleText(await first)).toContain('released');
    const served = await slash(busy, '/customer', 'acme logistics', 'U0ALICE');
    expect(visibleText(served)).toContain('Acme Logistics');
  });
});
