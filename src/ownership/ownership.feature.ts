import type { Feature } from '../feature.js';
import { disputeHandlers } from './dispute.job.js';
import { registerDisputeActions } from './ownership.action.js';
import { assignCommand, claimCommand, historyCommand, mineCommand, releaseCommand } from './ownership.command.js';

/** Ownership: claim / assign / release / history / mine, the dispute buttons, and the escalation of undecided disputes. */
export const ownershipFeature: Feature = {
  name: 'ownership',
  subcommands: { claim: claimCommand, assign: assignCommand, release: releaseCommand, history: historyCommand, mine: mineCommand },
  listeners: [registerDisputeActions],
  jobs: disputeHandlers,
  schedules: [(ctx) => [{ id: 'disputes-escalate', job: 'expireDisputes', pattern: '*/15 * * * *', tz: ctx.config.settings.schedules.timezone, data: {} }]],
};
