// The worker's LISTEN session on JOBS_CHANNEL, kept alive across database outages.
// A LISTEN lives on one dedicated connection; when PostgreSQL restarts or the backend is
// terminated, that connection dies and, without this module, the worker would silently
// fall back to polling. So the session is re-established whenever the runner reports a
// database error, retried with backoff while the server is down, and checked by a
// periodic self-NOTIFY (a ping the session must receive) to catch connections that died
// without an error, e.g. a NAT that dropped an idle TCP flow.
import { randomUUID } from 'node:crypto';
import { type Db, JOBS_CHANNEL } from '../lib/db/port.ts';
import type { Logger } from '../lib/telemetry/port.ts';
import { Backoff, describeError, sleep } from './retry.ts';

/** Payload prefix of liveness pings; no task type can start with it (task types are [A-Za-z0-9]…). */
export const PING_PREFIX = '~ping:';

export interface ListenerOptions {
  /** How often to verify the session with a self-NOTIFY; 0 disables. */
  pingIntervalMs: number;
  /** How long a ping may take to come back before the session is re-established. */
  pingTimeoutMs: number;
  /** Called with each job NOTIFY payload (a task_type). */
  onPayload(payload: string): void;
  /** Called after the session was (re-)established: jobs may have arrived while deaf. */
  onListening(): void;
}

export type ListenerState = 'unsupported' | 'connecting' | 'listening' | 'down' | 'stopped';

export class JobsListener {
  private state: ListenerState;
  private unlisten: (() => Promise<void>) | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private suspectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingDeadline: NodeJS.Timeout | undefined;
  private pendingPing: string | undefined;
  private readonly backoff = new Backoff(250, 10_000);
  private readonly token = randomUUID();
  private reconnects = 0;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly opts: ListenerOptions,
  ) {
    this.state = db.listen ? 'down' : 'unsupported';
  }

  get status(): { state: ListenerState; reconnects: number } {
    return { state: this.state, reconnects: this.reconnects };
  }

  /** Starts connecting in the background: claiming must not wait for LISTEN (polling covers it). */
  start(): void {
    if (this.state === 'unsupported') return;
    void this.connect();
    if (this.opts.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => void this.ping(), this.opts.pingIntervalMs);
    }
  }

  /**
   * The database reported an error: the session may be dead. Several errors arrive together
   * in one outage (every pooled connection fails), so they are folded into one reconnect.
   */
  suspect(): void {
    if (this.state === 'unsupported' || this.state === 'stopped' || this.suspectTimer) return;
    this.suspectTimer = setTimeout(() => {
      this.suspectTimer = undefined;
      void this.connect();
    }, 100);
  }

  /** The database answered again: if the session is down, try now rather than at the next backoff step. */
  nudge(): void {
    if (this.state !== 'down' || this.connecting) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    for (const t of [this.retryTimer, this.suspectTimer, this.pingDeadline]) clearTimeout(t);
    clearInterval(this.pingTimer);
    // A connect to a black-holed server can hang for minutes; shutdown must not. If it
    // completes later, reconnect() sees `stopped` and closes it.
    await Promise.race([this.connecting, sleep(1_000)]);
    const old = this.unlisten;
    this.unlisten = undefined;
    await old?.().catch(() => {});
  }

  private connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.reconnect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async reconnect(): Promise<void> {
    if (this.state === 'stopped' || !this.db.listen) return;
    const wasListening = this.state === 'listening';
    this.state = 'connecting';
    clearTimeout(this.pingDeadline);
    this.pendingPing = undefined;
    const old = this.unlisten;
    this.unlisten = undefined;
    await old?.().catch(() => {});
    try {
      const unlisten = await this.db.listen(JOBS_CHANNEL, (p) => this.receive(p));
      if ((this.state as ListenerState) === 'stopped') {
        await unlisten().catch(() => {});
        return;
      }
      this.unlisten = unlisten;
      this.state = 'listening';
      if (wasListening || this.backoff.failures > 0) {
        this.reconnects++;
        this.log.info({ reconnects: this.reconnects }, 'LISTEN session re-established');
      }
      this.backoff.reset();
      this.opts.onListening();
    } catch (err) {
      if ((this.state as ListenerState) === 'stopped') return;
      this.state = 'down';
      const delay = this.backoff.next();
      const fields = { err: describeError(err), retry_in_ms: delay };
      if (this.backoff.failures === 1) this.log.warn(fields, 'LISTEN failed; polling until it is back');
      else this.log.debug(fields, 'LISTEN still failing');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.connect();
      }, delay);
    }
  }

  private receive(payload: string): void {
    if (payload.startsWith(PING_PREFIX)) {
      if (payload === this.pendingPing) {
        this.pendingPing = undefined;
        clearTimeout(this.pingDeadline);
      }
      return;
    }
    this.opts.onPayload(payload);
  }

  private async ping(): Promise<void> {
    if (this.state !== 'listening' || this.pendingPing) return;
    const payload = `${PING_PREFIX}${this.token}:${Date.now()}`;
    this.pendingPing = payload;
    try {
      await this.db.query('SELECT pg_notify($1, $2)', [JOBS_CHANNEL, payload]);
    } catch {
      // The database is unreachable; the runner's own errors will trigger the reconnect.
      this.pendingPing = undefined;
      return;
    }
    if (this.pendingPing !== payload) return; // already came back
    this.pingDeadline = setTimeout(() => {
      if (this.pendingPing !== payload || this.state !== 'listening') return;
      this.log.warn({}, 'LISTEN session stopped delivering notifications; re-establishing it');
      void this.connect();
    }, this.opts.pingTimeoutMs);
  }
}
