// Failure categories a worker (built-in or external) reports with POST /jobs/{id}/fail.
// Retryable ones send the job back to pending with backoff until max_attempts; the rest
// are final because retrying cannot change the outcome without a human.
export const RETRYABLE_CATEGORIES = [
  'timeout', // deadline passed (provider too slow, or the lease expired)
  'rate_limited', // 429; honour Retry-After
  'provider_unavailable', // connection refused/reset, 502/503/504
  'provider_error', // other 5xx
  'invalid_output', // 200 whose body is not the promised JSON
  'internal', // a bug or crash in the worker itself
] as const;

export const FINAL_CATEGORIES = [
  'invalid_input', // the job's own fault (400/422)
  'context_length_exceeded', // prompt over the model window: the job's fault
  'unsupported', // the worker cannot do this (format, task)
  'auth_error', // 401/403: configuration; retry by filter once fixed
  'quota_exceeded', // do not retry soon
  'model_not_found', // 404 on the model
  'cancelled',
] as const;

export const FAILURE_CATEGORIES = [...RETRYABLE_CATEGORIES, ...FINAL_CATEGORIES] as const;
export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

const retryable = new Set<string>(RETRYABLE_CATEGORIES);
export const isRetryable = (c: FailureCategory): boolean => retryable.has(c);
