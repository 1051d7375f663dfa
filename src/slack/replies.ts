import { context, section, type Reply } from './blocks.js';
import { escapeMrkdwn } from './escape.js';

/** The replies every command shares: bad input, an outage, a bug. */

/** Bad input: say what was wrong and show the right form. */
export function invalidReply(problem: string, usage: string): Reply {
  return {
    text: problem,
    blocks: [section(`${escapeMrkdwn(problem)}\nUsage: \`${escapeMrkdwn(usage)}\``), context('`/customer help` lists every command')],
    responseType: 'ephemeral',
  };
}

export function unavailableReply(): Reply {
  return {
    text: 'retain cannot reach its database right now. Please try again shortly.',
    blocks: [section(':hourglass: retain cannot reach its database right now. Nothing was changed — please try again shortly.')],
    responseType: 'ephemeral',
  };
}

/** Overloaded or out of time (no connection in time, a slow query cut short): nothing is wrong, it is just busy. */
export function busyReply(): Reply {
  return {
    text: 'retain is busy — try again in a few seconds.',
    blocks: [section(':hourglass: retain is busy — try again in a few seconds.')],
    responseType: 'ephemeral',
  };
}

export function failureReply(ref: string): Reply {
  return {
    text: 'Something went wrong on our side.',
    blocks: [section(`Something went wrong on our side and nothing was changed. If it keeps happening, tell your admin (reference \`${ref}\`).`)],
    responseType: 'ephemeral',
  };
}
