// Retry helpers for talking to PostgreSQL through an outage: exponential backoff with
// jitter, and the line between "the database is unreachable right now" (wait and retry)
// and "this statement can never succeed" (do not retry it forever).

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly baseMs: number,
    private readonly capMs: number,
  ) {}

  /** The next delay: base·2^n capped, with ±25 % jitter so replicas do not retry in step. */
  next(): number {
    const raw = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(raw * (0.75 + Math.random() / 2));
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// SQLSTATE classes that mean "try again later": connection exceptions, operator
// intervention (admin shutdown, crash recovery), insufficient resources, and
// serialization failures / deadlocks.
const TRANSIENT_SQLSTATE = /^(08|57P|53|40001|40P01)/;

/**
 * True when an error is about reaching the database (socket errors, timeouts, the server
 * shutting down) rather than about the statement (bad data, missing table).
 */
export function isTransientDbError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATE.test(code);
  // No SQLSTATE: the error came from the client side (ECONNREFUSED, "Connection terminated",
  // pool timeouts), i.e. the statement never reached a healthy server.
  return true;
}

/** A short, single-line description for logs and /worker/status. */
export function describeError(err: unknown): string {
  const msg = err instanceof Error ? err.message || err.name : String(err);
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  const line = msg.replace(/\s+/g, ' ').trim().slice(0, 300);
  return typeof code === 'string' && !line.includes(code) ? `${line} (${code})` : line;
}
