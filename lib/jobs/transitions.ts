// Every state change a job can make, in one table. Each is implemented as one guarded
// SQL statement whose WHERE clause repeats the "from" states (and, for the lease
// holder's calls, worker_id + lease_token), so a stale actor matches no row.
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
//   cancel     pending | running    cancelled                  caller; lease revoked
//   reap       running (expired)    pending | failed(timeout)  reaper; lease_expires_at < now()
//   release    running              pending                    lease holder on shutdown; attempt refunded
//   prune      completed | failed | cancelled → deleted        reaper; finished_at < now() - retention
import type { JobStatus } from './schemas.ts';

export const TRANSITIONS = {
  create: { from: [], to: ['pending'] },
  claim: { from: ['pending'], to: ['running'] },
  heartbeat: { from: ['running'], to: ['running'] },
  complete: { from: ['running'], to: ['completed'] },
  fail: { from: ['running'], to: ['pending', 'failed'] },
  retry: { from: ['failed', 'running'], to: ['pending'] },
  cancel: { from: ['pending', 'running'], to: ['cancelled'] },
  reap: { from: ['running'], to: ['pending', 'failed'] },
  release: { from: ['running'], to: ['pending'] },
} as const satisfies Record<string, { from: readonly JobStatus[]; to: readonly JobStatus[] }>;

export type Transition = keyof typeof TRANSITIONS;
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

/** Backoff for retryable failures and reaps: base·2^(attempt-1), capped, with jitter. */
export const BACKOFF = { baseMs: 2_000, capMs: 10 * 60_000 } as const;
