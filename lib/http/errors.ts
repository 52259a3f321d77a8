// The one place errors become HTTP responses: {"error":{"code","message","details"}}.
// Unknown errors are logged with their stack and answered with a bare "internal", so no
// stack trace, SQL or secret leaves the service.
import { describeError, errorCode, isTransientDbError } from '../db/transient.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../telemetry/port.ts';

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

/** Seconds a client is told to wait before retrying a 503 `unavailable`. */
export const RETRY_AFTER_SECONDS = 1;

export function errorResponse(err: AppError, headers?: HeadersInit): Response {
  const body: ErrorBody = { error: { code: err.code, message: err.message, details: err.details ?? null } };
  const h = new Headers(headers);
  // `unavailable` always means "try again": say when, as HTTP does.
  if (err.code === 'unavailable' && !h.has('retry-after')) h.set('retry-after', String(RETRY_AFTER_SECONDS));
  return Response.json(body, { status: err.status, headers: h });
}

export function toAppError(err: unknown, log: Logger, fields: Record<string, unknown>): AppError {
  if (err instanceof AppError) return err;
  // The database cannot answer right now (unreachable, restarting, pool exhausted, a lost
  // serialization race, schema not migrated yet): the one classifier in lib/db decides,
  // the same one the worker retries on. The caller is told to retry, not that we broke.
  if (isTransientDbError(err)) {
    const code = errorCode(err);
    log.warn({ ...fields, err_code: code, err: describeError(err) }, 'database unavailable');
    return code === '42P01'
      ? new AppError('unavailable', 'database not migrated yet; retry later (run `npm run migrate`)')
      : new AppError('unavailable', 'database unavailable; retry later');
  }
  log.error(
    { ...fields, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
    'unhandled error',
  );
  return new AppError('internal', 'internal error');
}
