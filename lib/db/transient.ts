// Which database errors are worth retrying, decided in one place for the worker
// (workers/retry.ts) and the API (lib/http/errors.ts → 503 `unavailable` + Retry-After).
// "Transient" means the statement may well succeed if sent again a little later: the
// server was unreachable or restarting, the pool was exhausted, the transaction lost a
// serialization race or a deadlock, or the schema is not there yet (a database that is
// still being migrated). Everything else is about the statement itself and will fail the
// same way every time.

// SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html):
//   08xxx connection exception; 57P01 admin_shutdown, 57P02 crash_shutdown,
//   57P03 cannot_connect_now, 57P05 idle_session_timeout; 53xxx insufficient resources
//   (too many connections, out of memory/disk); 40001 serialization_failure,
//   40P01 deadlock_detected; 42P01 undefined_table (unmigrated database: migrations
//   may be running in another pod, or MIGRATE_ON_START=false and `npm run migrate` is due).
const TRANSIENT_SQLSTATE = /^(08...|57P0[1235]|53...|40001|40P01|42P01)$/;

/** Node socket errors: the server is down, restarting or unreachable. */
const TRANSIENT_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

// Client-side messages without a code: pg-pool's "timeout exceeded when trying to
// connect" (every connection busy: back-pressure), node-postgres' "Connection terminated
// (unexpectedly | due to connection timeout)", "Client has encountered a connection error
// and is not queryable", its query_timeout "timeout expired", and a WebSocket that failed
// or closed under the Neon driver.
const TRANSIENT_MESSAGE =
  /timeout exceeded when trying to connect|connection terminated|not queryable|timeout expired|websocket|socket hang up/i;

/** The SQLSTATE or errno of a driver error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * True when `err` says "the database cannot answer right now" rather than "this statement
 * is wrong". Unknown errors without a SQLSTATE are not transient: a bug in our own code
 * must surface as one, not be retried forever or answered 503.
 */
export function isTransientDbError(err: unknown): boolean {
  const code = errorCode(err);
  if (code !== undefined) {
    if (/^[0-9A-Z]{5}$/.test(code) && !TRANSIENT_ERRNO.has(code)) return TRANSIENT_SQLSTATE.test(code);
    if (TRANSIENT_ERRNO.has(code)) return true;
  }
  // AggregateError (happy-eyeballs connect to ::1 and 127.0.0.1): transient if any part is.
  if (err instanceof AggregateError) return err.errors.some(isTransientDbError);
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  return TRANSIENT_MESSAGE.test(message);
}

/** A short, single-line description for logs and status pages. */
export function describeError(err: unknown): string {
  let msg = err instanceof Error ? err.message || err.name : String(err);
  if (!msg && err instanceof AggregateError) msg = err.errors.map((e) => describeError(e)).join('; ');
  const code = errorCode(err);
  const line = msg.replace(/\s+/g, ' ').trim().slice(0, 300);
  return code && !line.includes(code) ? `${line} (${code})` : line;
}
