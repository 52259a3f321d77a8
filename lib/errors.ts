// Errors are values with a stable `code`. Everything the service refuses is an AppError;
// lib/http/errors.ts is the one place that maps them onto HTTP responses.
export const ERROR_STATUS = {
  validation_error: 400,
  invalid_json: 400,
  /** Malformed HTTP, refused by Node's parser before routing. */
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_conflict: 409,
  lease_lost: 409,
  invalid_state: 409,
  request_timeout: 408,
  payload_too_large: 413,
  /** Request line and headers over Node's 16 KiB. */
  headers_too_large: 431,
  unserved: 422,
  internal: 500,
  not_configured: 503,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
