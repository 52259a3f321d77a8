// What functions and workers report, as an interface: handlers never import prom-client
// or pino (Node-only); the Node adapter injects the Prometheus/pino implementation and
// edge bundles a console one.
import type { FailureCategory } from '../jobs/categories.ts';
import type { JobUsage } from '../jobs/usage.ts';

export interface JobLabels {
  task_type: string;
  model_profile: string;
}

export interface Metrics {
  /** `n` jobs with the same labels and outcome (a batch counts them once per group). */
  jobCreated(l: JobLabels, outcome: 'created' | 'existing', n?: number): void;
  jobCompleted(l: JobLabels, durationMs: number | null): void;
  jobFailed(l: JobLabels, category: FailureCategory, final: boolean): void;
  claimBatch(size: number): void;
  leasesReaped(requeued: number, failed: number): void;
  providerCall(provider: string, outcome: string, seconds: number): void;
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** A finished job's usage (lib/jobs/usage.ts usageOfResult), counted per calling service. */
  jobUsage(l: { owner_service: string; model_profile: string }, u: JobUsage): void;
}

export type LogFields = Record<string, unknown>;
export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  child(fields: LogFields): Logger;
}

const noop = () => {};
export const noopMetrics: Metrics = {
  jobCreated: noop,
  jobCompleted: noop,
  jobFailed: noop,
  claimBatch: noop,
  leasesReaped: noop,
  providerCall: noop,
  httpRequest: noop,
  jobUsage: noop,
};

/** One JSON line per call on stdout/stderr; the edge default (Workers logs capture console). */
export function consoleLogger(
  base: LogFields = {},
  level: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'info',
): Logger {
  const order = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
  const emit = (lvl: 'debug' | 'info' | 'warn' | 'error', fields: LogFields, msg: string) => {
    if (order[lvl] < order[level]) return;
    const line = JSON.stringify({ level: lvl, time: new Date().toISOString(), ...base, ...fields, msg });
    (lvl === 'error' || lvl === 'warn' ? console.error : console.log)(line);
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
    child: (f) => consoleLogger({ ...base, ...f }, level),
  };
}

export const silentLogger: Logger = consoleLogger({}, 'silent');
