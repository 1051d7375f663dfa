import { section, type Reply } from '../slack/blocks.js';
import { USAGE } from './command.parser.js';

/** `/customer help`: every command with its form. */
export function helpReply(): Reply {
  const lines = [
    '*retain — who is slipping, and why*',
    `\`${USAGE.lookup}\` — health card (typos and partial names are fine)`,
    `\`${USAGE.mine}\` — your accounts, riskiest first`,
    `\`${USAGE.claim}\` — take an account (or open a dispute if it is owned)`,
    `\`${USAGE.assign}\` — managers: give an account to someone`,
    `\`${USAGE.release}\` — give an account up`,
    `\`${USAGE.log}\` — record a touch`,
    `\`${USAGE.history}\` — who owned it, and when`,
    `\`${USAGE.feedback}\` — log customer feedback`,
  ];
  return { text: 'retain usage', blocks: [section(lines.join('\n'))], responseType: 'ephemeral' };
}
