import type { HandlerMap } from '../jobs/worker.js';
import { scanRenewals } from './renewal.service.js';

export const renewalHandlers: HandlerMap = {
  scanRenewals: (ctx) => scanRenewals(ctx),
};
