// The contract between the runner and the code that does a job's work. A handler names
// the (task_type, model_profile) pairs it serves and turns one claimed job into a result
// object. It never touches the database: claims, leases, heartbeats and the final write
// belong to the runner, so every handler (LLM, transcription, a benchmark no-op) gets the
// same fencing and failure handling.
import type { JobRow } from '../lib/jobs/row.ts';
import type { Logger, Metrics } from '../lib/telemetry/port.ts';

export interface JobContext {
  /** Fires when the lease is lost (reaped, retried, cancelled) or shutdown ran out of grace. */
  signal: AbortSignal;
  /** Already carries job_id, task_type and attempt. */
  log: Logger;
  metrics: Metrics;
}

export interface Handler {
  name: string;
  taskTypes: readonly string[];
  /** Model profiles served; empty means any profile (in-process handlers such as a benchmark no-op). */
  modelProfiles: readonly string[];
  /** Circuit-breaker key and metrics label; default the handler name. */
  provider?: string;
  /**
   * The slot pool its jobs take (the runner's per-pool limits, e.g. `llm`, `transcribe`);
   * handlers sharing a pool share its limit. Default: none, only the worker's total applies.
   */
  pool?: string;
  run(job: JobRow, ctx: JobContext): Promise<Record<string, unknown>>;
  /** What to store in `result` when the job fails (transcription keeps its attempts). */
  failureResult?(error: unknown): Record<string, unknown> | undefined;
}

/** A handler the configuration leaves out, kept so /worker/status can say why. */
export interface DisabledHandler {
  name: string;
  taskTypes: readonly string[];
  modelProfiles: readonly string[];
  reason: string;
}

export type HandlerEntry = Handler | DisabledHandler;

export const isDisabled = (h: HandlerEntry): h is DisabledHandler => 'reason' in h && !('run' in h);

export const providerOf = (h: Handler): string => h.provider ?? h.name;
