// Builds the dependencies the functions receive when served by the Node adapter:
// pg or PGlite from DATABASE_URL, pino, Prometheus, provider probes, LISTEN-based
// long-poll wakeups.
import type { Config } from '../config/schema.ts';
import type { Db } from '../db/port.ts';
import { type Deps, systemClock } from '../http/deps.ts';
import { createJobEvents, type JobEvents } from '../jobs/events.ts';
import { probeProviders } from '../providers/probe.ts';
import type { Logger, Metrics } from '../telemetry/port.ts';

export interface NodeDeps extends Deps {
  events?: JobEvents;
  /** Aborts `stopping`: call first on shutdown. */
  stop(): void;
}

export function nodeDeps(config: Config, db: Db, log: Logger, metrics: Metrics): NodeDeps {
  const events = createJobEvents(db, { log });
  const stopping = new AbortController();
  return {
    db,
    config,
    clock: systemClock,
    log,
    metrics,
    fetch: globalThis.fetch,
    probeProviders: () => probeProviders(config),
    waitForJob: events?.wait,
    events,
    stopping: stopping.signal,
    stop: () => stopping.abort(),
  };
}
