// Database reachability as the worker sees it: every database call of the runner reports
// here whether it answered. The first transient failure logs one "unreachable" line (the
// rest are debug) and asks the LISTEN session to check itself; the first success after
// it logs how long the outage lasted and nudges the LISTEN session to reconnect now.
import type { Logger } from '../lib/telemetry/port.ts';
import type { WorkerClock } from './clock.ts';
import { describeError, isTransientDbError } from './retry.ts';
import { type ErrorNote, iso, type RunnerStats, type RunnerStatus } from './status.ts';

export interface ListenSession {
  /** The session may be dead: check it. */
  suspect(): void;
  /** The database answers again: reconnect now if down. */
  nudge(): void;
}

export class DbHealth {
  private reachable: boolean | null = null;
  private downSince: number | null = null;
  private lastOkAt: number | null = null;
  private lastError: ErrorNote | null = null;

  constructor(
    private readonly clock: WorkerClock,
    private readonly log: Logger,
    private readonly stats: RunnerStats,
    private readonly listen: ListenSession,
  ) {}

  ok(): void {
    const now = this.clock.now();
    this.lastOkAt = now;
    const was = this.reachable;
    this.reachable = true;
    if (was !== false) return;
    const down = this.downSince === null ? null : now - this.downSince;
    this.downSince = null;
    this.log.info({ down_ms: down }, 'database reachable again');
    this.listen.nudge();
  }

  error(err: unknown, source: string): void {
    const note = this.note(err, source);
    if (!isTransientDbError(err)) {
      this.log.error({ source, err: note.message }, 'database statement failed');
      return;
    }
    if (this.reachable !== false) {
      this.reachable = false;
      this.downSince = this.clock.now();
      this.log.error({ source, err: note.message }, 'database unreachable; backing off and retrying');
    } else {
      this.log.debug({ source, err: note.message }, 'database still unreachable');
    }
    this.listen.suspect();
  }

  /** A connection-level error outside a query (an idle pooled or the LISTEN connection died). */
  connectionLost(err: unknown): void {
    this.note(err, 'connection');
    this.listen.suspect();
  }

  private note(err: unknown, source: string): ErrorNote {
    const note = { at: new Date(this.clock.now()).toISOString(), source, message: describeError(err) };
    this.stats.lastError = this.lastError = note;
    return note;
  }

  status(): RunnerStatus['db'] {
    return { reachable: this.reachable, last_ok_at: iso(this.lastOkAt), last_error: this.lastError };
  }
}
