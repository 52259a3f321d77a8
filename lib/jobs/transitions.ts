// The job state machine, in one place: the statuses, which of them are terminal, and
// every state change with the states it may start from. Each change is one guarded SQL
// statement (admin.ts, lease.ts, reap.ts) whose WHERE clause takes its "from" states
// from TRANSITIONS as a parameter, so the table below and the guards cannot drift
// apart. Where a partial index must serve the row choice (claim's pending rows, reap's
// running rows) the status is also written out in that SELECT, for the planner. The
// lease holder's calls are fenced by worker_id + lease_token too, so a stale actor
// matches no row. (Migrations 001 and 003 restate the statuses in SQL; migrations are
// history and are not edited.)
//
//   action     from                 to                         who / guard
//   ---------  -------------------  -------------------------  -----------------------------------
//   create     —                    pending                    caller (idempotency_key per owner)
//   claim      pending              running                    worker; run_after <= now(), SKIP LOCKED
//   heartbeat  running              running                    lease holder (worker_id + lease_token)
//   complete   running              completed                  lease holder
//   fail       running              pending (retryable, left)  lease holder; backoff + jitter
//                                   failed  (final or last)
//   retry      failed | running     pending                    caller; lease revoked, attempts reset
//     + include_cancelled: cancelled too (a job cancelled by mistake)
//   cancel     pending | running    cancelled                  caller; lease revoked
//   reap       running (expired)    pending | failed(timeout)  reaper; lease_expires_at < now()
//   release    running              pending                    lease holder on shutdown; attempt refunded
//   prune      completed | failed | cancelled → deleted        reaper; finished_at < now() - retention

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** States a job never leaves on its own; long-polls wait for these, prune deletes them. */
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

export const TRANSITIONS = {
  claim: { from: ['pending'], to: ['running'] },
  heartbeat: { from: ['running'], to: ['running'] },
  complete: { from: ['running'], to: ['completed'] },
  fail: { from: ['running'], to: ['pending', 'failed'] },
  retry: { from: ['failed', 'running'], to: ['pending'] },
  retryIncludingCancelled: { from: ['failed', 'running', 'cancelled'], to: ['pending'] },
  cancel: { from: ['pending', 'running'], to: ['cancelled'] },
  reap: { from: ['running'], to: ['pending', 'failed'] },
  release: { from: ['running'], to: ['pending'] },
  prune: { from: TERMINAL_STATUSES, to: [] },
} as const satisfies Record<string, { from: readonly JobStatus[]; to: readonly JobStatus[] }>;

const terminal = new Set<string>(TERMINAL_STATUSES);
export const isTerminal = (s: JobStatus): boolean => terminal.has(s);

/** Backoff for retryable failures and reaps: base·2^(attempt-1), capped, with jitter ×0.5–1. */
export const BACKOFF = { baseMs: 2_000, capMs: 10 * 60_000 } as const;
