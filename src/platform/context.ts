import type { AppConfig } from '../config/index.js';
import type { SlackGateway } from '../slack/gateway.js';
import type { Clock } from './clock.js';
import type { Db } from './db.js';
import type { Logger } from './logger.js';
import type { Queues } from '../jobs/queues.js';

/** Everything a service needs, built once by the composition root (main.ts). */
export interface AppContext {
  readonly config: AppConfig;
  /** Primary: every write and every read that must see its own writes. */
  readonly db: Db;
  /** Read replica when DATABASE_REPLICA_URL is set, else the primary. */
  readonly readDb: Db;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly slack: SlackGateway;
  /** Producer side of the job queues; null where no Redis is wanted (pure CLI imports). */
  readonly queues: Queues | null;
}
