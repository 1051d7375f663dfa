import type { HandlerMap } from '../jobs/worker.js';
import { escalateDueDisputes } from './dispute.service.js';

/** Scheduled scan: escalate disputes left undecided too long, expire those whose claimant left (idempotent; see the service). */
export const disputeHandlers: HandlerMap = {
  expireDisputes: async (ctx) => escalateDueDisputes(ctx),
};
