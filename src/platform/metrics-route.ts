import type { Queues } from '../jobs/queues.js';
import type { Route } from './http.js';
import { metrics, registry } from './metrics.js';

/**
 * GET /metrics: the process registry in Prometheus text format 0.0.4. Queue
 * depths are read from BullMQ at scrape time (never on a request path).
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function metricsRoute(queues: Queues | null): Route {
  if (queues) {
    metrics.queueDepth.collect = async () => {
      const counts = await queues.counts();
      for (const [queue, states] of Object.entries(counts)) {
        for (const [state, n] of Object.entries(states)) metrics.queueDepth.set({ queue, state }, n);
      }
    };
  }
  return {
    method: 'GET',
    path: '/metrics',
    handler: async (_req, res) => {
      const text = await registry.render();
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(text);
    },
  };
}
