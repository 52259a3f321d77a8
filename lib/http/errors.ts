// The one place errors become HTTP responses: {"error":{"code","message","details"}}.
// Unknown errors are logged with their stack and answered with a bare "internal", so no
// stack trace, SQL or secret leaves the service.
import { AppError } from '../errors.ts';
import type { Logger } from '../telemetry/port.ts';

export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

export function errorResponse(err: AppError, headers?: HeadersInit): Response {
  const body: ErrorBody = { error: { code: err.code, message: err.message, details: err.details ?? null } };
  return Response.json(body, { status: err.status, headers });
}

export function toAppError(err: unknown, log: Logger, fields: Record<string, unknown>): AppError {
  if (err instanceof AppError) return err;
  // Database unreachable / pool exhausted: tell the caller to retry, not that we broke.
  const code = (err as { code?: string })?.code;
  // pg-pool's "timeout exceeded when trying to connect" (every connection busy) carries
  // no code: it is back-pressure, so the caller should retry, not see a crash.
  const poolTimeout =
    err instanceof Error &&
    /timeout exceeded when trying to connect|Connection terminated/i.test(err.message);
  if (
    poolTimeout ||
    (typeof code === 'string' &&
      /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|57P01|57P03|53300|08\w\w\w)$/.test(code))
  ) {
    log.warn({ ...fields, err_code: code }, 'database unavailable');
    return new AppError('unavailable', 'database unavailable; retry later');
  }
  log.error(
    { ...fields, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
    'unhandled error',
  );
  return new AppError('internal', 'internal error');
}
