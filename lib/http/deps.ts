// What a function receives from its adapter. Functions never build these themselves:
// the Node adapter passes a pg/PGlite pool, pino and Prometheus; an edge adapter passes
// the Neon driver and console logging.
import type { Clock } from '../clock.ts';
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/port.ts';
import type { JobWaiter } from '../jobs/wait.ts';
import type { ProviderProbe } from '../providers/probe.ts';
import type { Logger, Metrics } from '../telemetry/port.ts';

// Clock and JobWaiter live in lib (lib/jobs must not depend on lib/http); re-exported
// here for the adapters that build Deps.
export { type Clock, systemClock } from '../clock.ts';
export type { JobWaiter } from '../jobs/wait.ts';

export interface Deps {
  db: Db;
  config: Config;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Outbound HTTP for the infra sidecar (Web fetch; undici stays in workers). */
  fetch: typeof fetch;
  probeProviders?: () => Promise<ProviderProbe[]>;
  waitForJob?: JobWaiter;
  /** Aborted when the process starts shutting down: long-polls answer at once. */
  stopping?: AbortSignal;
}
