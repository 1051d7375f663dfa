import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/ids.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { loadCustomersCsv, sampleCustomers, seedRoster } from '../helpers/fixtures.js';
import { buttonClick } from '../helpers/signed.js';
import { startSlackDouble, type SlackDouble } from '../helpers/slack-double.js';
import { APP_TOKEN, startSocketModeDouble, type SocketModeDouble } from '../helpers/socket-double.js';

/**
 * The app in Socket Mode (SLACK_APP_TOKEN set), connected to a local stand-in
 * for Slack's WebSocket service: commands, clicks and events arrive as
 * envelopes, acks go back over the socket, replies go to response_url and the
 * Web API double — and Slack recycling or dropping the connection loses nothing.
 */
let app: TestApp;
let slack: SlackDouble;
let socket: SocketModeDouble;
let n = 0;

interface Reply {
  text: string;
  blocks: any[];
  response_type?: string;
  replace_original?: boolean;
}

const repliesTo = (id: string) => slack.responses.filter((r) => r.id === id);

/** Type `/customer <text>` in Slack: the envelope goes out now; returns its envelope id and where the reply lands. */
function typeCommand(text: string, userId = 'U0ALICE') {
  const replyId = `sm${++n}`;
  const envelope = socket.slashCommand({ command: '/customer', text, userId, responseUrl: `${slack.responseBase}/${replyId}` });
  return { envelopeId: envelope.envelope_id, replyId };
}

async function replyOf(replyId: string): Promise<Reply> {
  await slack.waitFor(() => repliesTo(replyId).length > 0);
  return repliesTo(replyId)[0]!.body as unknown as Reply;
}

/**
 * Everything sent so far has had time to be handled twice: a last command's
 * reply arrives after any duplicate of earlier ones would have.
 */
async function settle(): Promise<void> {
  const probe = typeCommand('initech');
  await replyOf(probe.replyId);
}

beforeAll(async () => {
  slack = await startSlackDouble();
  socket = await startSocketModeDouble(slack);
  app = await startTestApp('socket', { slack, env: { SLACK_APP_TOKEN: APP_TOKEN } });
  await seedRoster(app.db);
  await loadCustomersCsv(app.db, sampleCustomers());
});
afterAll(async () => {
  await app?.stop();
  await socket?.close();
});

describe('Socket Mode', () => {
  it('connects with the app-level token, and the HTTP endpoint says Slack is on the socket', async () => {
    expect(socket.opened).toBe(1);
    expect(socket.connections).toEqual([{ id: 1, open: true }]);
    const connect = slack.calls.find((c) => c.method === 'apps.connections.open');
    expect(connect).toBeDefined();
    const http = await fetch(app.eventsUrl, { method: 'POST', body: '{}' });
    expect(http.status).toBe(404);
  });

  it('/customer acme: acked over the socket, the choice arrives at response_url', async () => {
    const typed = typeCommand('acme');
    const ack = await socket.waitForAck(typed.envelopeId);
    expect(ack.connection).toBe(1);
    const reply = await replyOf(typed.replyId);
    expect(reply.response_type).toBe('ephemeral');
    const buttons = reply.blocks.find((b) => b.type === 'actions').elements;
    expect(buttons.map((b: any) => b.text.text).sort()).toEqual(['Acme Corp (acme.com)', 'Acme Logistics (acmelog.com)']);

    // Clicking "Acme Corp" arrives as an interactive envelope and opens the card in place.
    const corp = buttons.find((b: any) => b.text.text.startsWith('Acme Corp'));
    expect(corp.action_id).toBe(ACTIONS.openCard);
    const clickReply = `sm${++n}`;
    const click = socket.interactive(
      buttonClick({ actionId: ACTIONS.openCard, value: corp.value, userId: 'U0ALICE', responseUrl: `${slack.responseBase}/${clickReply}` }),
    );
    expect(click.accepts_response_payload).toBe(false);
    await socket.waitForAck(click.envelope_id);
    const card = await replyOf(clickReply);
    expect(card.replace_original).toBe(true);
    expect(card.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Acme Corp' } });
    expect(JSON.stringify(card.blocks)).toContain('<@U0ALICE>');

    await settle();
    expect(socket.acksFor(typed.envelopeId)).toHaveLength(1);
    expect(socket.acksFor(click.envelope_id)).toHaveLength(1);
    expect(repliesTo(typed.replyId)).toHaveLength(1);
    expect(repliesTo(clickReply)).toHaveLength(1);
  });

  it('app_home_opened as an events_api envelope publishes the Home tab', async () => {
    const published = () => slack.calls.filter((c) => c.method === 'views.publish' && c.body.user_id === 'U0BOB');
    const event = socket.event({ type: 'app_home_opened', user: 'U0BOB', channel: 'D0BOB', tab: 'home', event_ts: `${Date.now() / 1000}` });
    expect(event).toMatchObject({ type: 'events_api', accepts_response_payload: false, retry_attempt: 0, retry_reason: '' });
    await socket.waitForAck(event.envelope_id);
    await slack.waitFor(() => published().length > 0);
    expect((published()[0]!.body.view as { type: string }).type).toBe('home');
  });

  it('reconnects when Slack asks (disconnect: refresh_requested): the command being handled is answered once, the next one too', async () => {
    const before = socket.connections.length;
    const inFlight = typeCommand('globex');
    await socket.waitForAck(inFlight.envelopeId);
    socket.disconnect('refresh_requested');
    await socket.waitForConnections(before + 1);
    expect(socket.opened).toBe(before + 1); // a fresh URL from apps.connections.open, not the old one
    // The app opens the new connection first, then closes the old one itself.
    await socket.waitForClosed(before);
    expect(socket.connections[before - 1]).toMatchObject({ open: false, closedBy: 'app' });

    const justAfter = typeCommand('globex', 'U0BOB');
    expect((await replyOf(justAfter.replyId)).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Globex' } });
    expect((await replyOf(inFlight.replyId)).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Globex' } });
    expect(socket.acksFor(justAfter.envelopeId)).toEqual([expect.objectContaining({ connection: before + 1 })]);

    await settle();
    expect(socket.acksFor(inFlight.envelopeId)).toHaveLength(1);
    expect(repliesTo(inFlight.replyId)).toHaveLength(1);
    expect(repliesTo(justAfter.replyId)).toHaveLength(1);
    expect(socket.connections.filter((c) => c.open)).toEqual([{ id: before + 1, open: true }]);
  });

  it('a command read just before disconnect (refresh_requested) is acked on the connection it came by and answered once', async () => {
    const before = socket.connections.length;
    // The envelope and Slack's disconnect arrive in one read: the app is still handling the command when told to go.
    const last = socket.together(() => {
      const typed = typeCommand('globex');
      socket.disconnect('refresh_requested');
      return typed;
    });
    await socket.waitForConnections(before + 1);
    // The old connection closes only after what it read is acked, and the ack goes back over it.
    await socket.waitForClosed(before);
    expect(socket.acksFor(last.envelopeId)).toEqual([expect.objectContaining({ connection: before })]);
    expect((await replyOf(last.replyId)).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Globex' } });

    await settle();
    expect(socket.acksFor(last.envelopeId)).toHaveLength(1);
    expect(repliesTo(last.replyId)).toHaveLength(1);
    expect(socket.connections[before - 1]).toMatchObject({ open: false, closedBy: 'app' });
    expect(socket.connections.filter((c) => c.open)).toEqual([{ id: before + 1, open: true }]);
  });

  it('a command typed during the refresh (after disconnect, before the new hello) is answered once', async () => {
    const before = socket.connections.length;
    socket.holdHellos();
    let typed: ReturnType<typeof typeCommand>;
    try {
      socket.disconnect('refresh_requested');
      await socket.waitForHeld(1); // the app has opened its new connection; Slack has not greeted it yet
      // The old connection is still the only greeted one, so the command comes that way and is acked there.
      typed = typeCommand('initech', 'U0BOB');
      expect((await socket.waitForAck(typed.envelopeId)).connection).toBe(before);
      expect((await replyOf(typed.replyId)).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Initech' } });
      expect(socket.connections[before - 1]!.open).toBe(true); // not closed before its successor is up
    } finally {
      socket.releaseHellos();
    }
    await socket.waitForConnections(before + 1);
    await socket.waitForClosed(before);

    await settle();
    expect(socket.acksFor(typed.envelopeId)).toHaveLength(1);
    expect(repliesTo(typed.replyId)).toHaveLength(1);
    expect(socket.connections[before - 1]).toMatchObject({ open: false, closedBy: 'app' });
    expect(socket.connections.filter((c) => c.open)).toEqual([{ id: before + 1, open: true }]);
  });

  it('a refresh whose new connection fails to open retries it, while the old one keeps serving', async () => {
    const before = socket.connections.length;
    const openCalls = () => slack.calls.filter((c) => c.method === 'apps.connections.open').length;
    const callsBefore = openCalls();
    socket.failNextOpen('internal_error');
    socket.disconnect('refresh_requested');
    await slack.waitFor(() => openCalls() > callsBefore); // the first attempt, answered with an error

    const meanwhile = typeCommand('globex');
    expect((await socket.waitForAck(meanwhile.envelopeId)).connection).toBe(before);
    expect((await replyOf(meanwhile.replyId)).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Globex' } });

    await socket.waitForConnections(before + 1);
    expect(openCalls()).toBe(callsBefore + 2);
    await socket.waitForClosed(before);
    await settle();
    expect(repliesTo(meanwhile.replyId)).toHaveLength(1);
    expect(socket.connections.filter((c) => c.open)).toEqual([{ id: before + 1, open: true }]);
  });

  it('reconnects when the connection drops without a word: nothing answered twice, the next command answered once', async () => {
    const before = socket.connections.length;
    const acked = typeCommand('initech.com');
    await socket.waitForAck(acked.envelopeId);
    socket.drop();
    await socket.waitForConnections(before + 1);
    expect(socket.connections[before - 1]).toMatchObject({ open: false, closedBy: 'slack' });

    // Slack does not re-send a command that was acked; the next one goes over the new connection.
    const next = typeCommand('C3');
    expect((await replyOf(next.replyId)).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Globex' } });
    expect((await replyOf(acked.replyId)).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Initech' } });

    await settle();
    expect(repliesTo(acked.replyId)).toHaveLength(1);
    expect(repliesTo(next.replyId)).toHaveLength(1);
    expect(socket.acksFor(acked.envelopeId)).toHaveLength(1);
    expect(socket.acksFor(next.envelopeId)).toEqual([expect.objectContaining({ connection: before + 1 })]);
    // One live connection: the app did not keep a second one (which would split or double deliveries).
    expect(socket.connections.filter((c) => c.open)).toHaveLength(1);
  });

  // Last: it stops the app's Slack side.
  it('stopping in the middle of a refresh closes every connection, the one still opening too', async () => {
    const before = socket.connections.length;
    socket.holdHellos();
    socket.disconnect('refresh_requested');
    await socket.waitForHeld(1);
    expect(socket.openSockets()).toBe(2);
    const opened = socket.opened;
    await app.running.slackApp!.stop();
    await slack.waitFor(() => socket.openSockets() === 0);
    socket.releaseHellos();
    expect(socket.connections[before - 1]).toMatchObject({ open: false, closedBy: 'app' });
    expect(socket.connections).toHaveLength(before);
    expect(socket.opened).toBe(opened);
  });
});
