// The jobs repository: plain SQL, one module per concern, each statement beside the
// function that runs it. Callers pass any Queryable (a Db or a transaction).
export { type ByFilterResult, cancelByFilter, retryByFilter, retryJob } from './admin.ts';
export { FAILURE_CATEGORIES, type FailureCategory, isRetryable, RETRYABLE_CATEGORIES } from './categories.ts';
export { type ClaimRequest, claimJobs } from './claim.ts';
export { type CreateOutcome, createJob, createJobs } from './create.ts';
export {
  cleanMessage,
  completeJob,
  completeMany,
  type FailRequest,
  failJob,
  heartbeat,
  type LeaseRef,
  releaseJob,
} from './lease.ts';
export { decodeCursor, encodeCursor, getJob, type ListPage, listJobs } from './list.ts';
export { pruneFinished, type ReapResult, reapExpiredLeases } from './reap.ts';
export { isTerminal, type JobJson, type JobRow, toJobJson } from './row.ts';
export { jobStats, type Stats } from './stats.ts';
export { TERMINAL_STATUSES, TRANSITIONS } from './transitions.ts';
