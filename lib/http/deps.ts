// What a function receives from its adapter. Functions never build these themselves:
// the Node adapter passes a pg/PGlite pool, pino and Prometheus; an edge adapter passes
// the Neon driver and console logging.
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/port.ts';
import type { ProviderProbe } from '../providers/probe.ts';
import type { Logger, Metrics } from '../telemetry/port.ts';

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * Subscribes to job `id`; resolves once the subscription is live, with `woken` that
 * settles when the job may have changed state (a notification), after `ms`, or on abort.
 */
export type JobWaiter = (id: string, ms: number, signal?: AbortSignal) => Promise<{ woken: Promise<void> }>;

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
