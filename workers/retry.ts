// Retry helpers for the worker. They live in lib/db so the API and the worker agree on
// what a transient database error is (one classifier: lib/db/transient.ts); this module
// keeps the worker's imports short.
export { Backoff, sleep } from '../lib/db/backoff.ts';
export { describeError, isTransientDbError } from '../lib/db/transient.ts';
