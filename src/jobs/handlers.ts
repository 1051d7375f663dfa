import { deliveryHandlers } from '../alerts/delivery.job.js';
import { digestHandlers } from '../digest/digest.job.js';
import { renewalHandlers } from '../renewals/renewal.job.js';
import { disputeHandlers } from '../ownership/dispute.job.js';
import { rescoreHandlers } from '../scores/rescore.job.js';
import type { HandlerMap } from './worker.js';

/** name → handler for every job in the catalog; features contribute their own. */
export const handlers: HandlerMap = {
  ...rescoreHandlers,
  ...deliveryHandlers,
  ...renewalHandlers,
  ...digestHandlers,
  ...disputeHandlers,
};
