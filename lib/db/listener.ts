// One LISTEN session on one channel, kept alive for the life of the process. Used by the
// API's long-poll wake-ups (lib/jobs/events.ts, ai_jobs_finished) and the worker's
// claim wake-ups (workers/listener.ts, ai_jobs_pending).
//
// A LISTEN lives on one dedicated connection. When PostgreSQL restarts, fails over, or an
// idle-connection killer terminates the backend, that connection dies and nothing is
// delivered any more. So:
//   - the driver reports the connection's death (Db.listen's onLost) and the session is
//     re-established at once, then with backoff while the server is down;
//   - a periodic self-NOTIFY (a ping this session must receive) catches connections that
//     died without an error, e.g. a NAT that dropped an idle TCP flow;
//   - callers may also report database errors they saw (suspect) or that the database
//     answers again (nudge), to reconnect sooner;
//   - onListening(true) tells the owner a session came back: notifications sent while it
//     was deaf are lost, so whatever waits on them must re-check.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../telemetry/port.ts';
import { Backoff, sleep } from './backoff.ts';
import type { Db } from './port.ts';
import { describeError } from './transient.ts';

/** Payload prefix of liveness pings; no job id or task type can start with it. */
export const PING_PREFIX = '~ping:';

export interface ListenerOptions {
  /** How often to verify the session with a self-NOTIFY; 0 disables. */
  pingIntervalMs: number;
  /** How long a ping may take to come back before the session is re-established. */
  pingTimeoutMs: number;
  /** Called with each NOTIFY payload on the channel (pings excluded). */
  onPayload(payload: string): void;
  /**
   * Called after the session was established; `reconnected` is true when it replaces one
   * that was lost (notifications may have been missed meanwhile).
   */
  onListening(reconnected: boolean): void;
  /** Called when an established session is found dead (before reconnecting). */
  onDown?(): void;
}

export type ListenerState = 'unsupported' | 'connecting' | 'listening' | 'down' | 'stopped';

export class DbListener {
  private state: ListenerState;
  private unlisten: (() => Promise<void>) | undefined;
  private connecting: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private suspectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingDeadline: NodeJS.Timeout | undefined;
  private pendingPing: string | undefined;
  private readonly backoff = new Backoff(250, 10_000);
  /** Delays reconnecting when sessions keep dying soon after they were made (a flapping server). */
  private readonly flapBackoff = new Backoff(250, 10_000);
  private listeningSince = 0;
  private readonly token = randomUUID();
  private reconnects = 0;
  /** Counts sessions, so a late onLost from an old connection is ignored. */
  private session = 0;
  private lostWhileConnecting = false;
  private everListened = false;
  private readyWaiters = new Set<() => void>();

  constructor(
    private readonly db: Db,
    private readonly channel: string,
    private readonly log: Logger,
    private readonly opts: ListenerOptions,
  ) {
    this.state = db.listen ? 'down' : 'unsupported';
  }

  get status(): { state: ListenerState; reconnects: number } {
    return { state: this.state, reconnects: this.reconnects };
  }

  get listening(): boolean {
    return this.state === 'listening';
  }

  /** Starts connecting in the background: callers must not depend on LISTEN to make progress. */
  start(): void {
    if (this.state === 'unsupported' || this.pingTimer || this.state === 'stopped') return;
    void this.connect();
    if (this.opts.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => void this.ping(), this.opts.pingIntervalMs);
      this.pingTimer.unref?.();
    }
  }

  /** Resolves when the session is listening, or after `timeoutMs`, whichever is first. */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.state === 'listening') return true;
    if (this.state === 'unsupported' || this.state === 'stopped') return false;
    let done!: () => void;
    const p = new Promise<void>((r) => {
      done = r;
    });
    this.readyWaiters.add(done);
    const timer = setTimeout(done, timeoutMs);
    await p;
    clearTimeout(timer);
    this.readyWaiters.delete(done);
    return this.listening;
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
    for (const done of this.readyWaiters) done();
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
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const wasListening = this.state === 'listening';
    if (wasListening) this.opts.onDown?.();
    this.state = 'connecting';
    clearTimeout(this.pingDeadline);
    this.pendingPing = undefined;
    const old = this.unlisten;
    this.unlisten = undefined;
    await old?.().catch(() => {});
    const session = ++this.session;
    this.lostWhileConnecting = false;
    try {
      const unlisten = await this.db.listen(
        this.channel,
        (p) => this.receive(p),
        (err) => this.lost(session, err),
      );
      if ((this.state as ListenerState) === 'stopped') {
        await unlisten().catch(() => {});
        return;
      }
      if (this.lostWhileConnecting) {
        await unlisten().catch(() => {});
        throw new Error('LISTEN connection lost while it was being established');
      }
      this.unlisten = unlisten;
      this.state = 'listening';
      this.listeningSince = Date.now();
      const reconnected = this.everListened;
      if (reconnected || this.backoff.failures > 0) {
        this.reconnects++;
        this.log.info(
          { channel: this.channel, reconnects: this.reconnects },
          'LISTEN session re-established',
        );
      }
      this.everListened = true;
      this.backoff.reset();
      for (const done of this.readyWaiters) done();
      this.opts.onListening(reconnected);
    } catch (err) {
      if ((this.state as ListenerState) === 'stopped') return;
      this.state = 'down';
      const delay = this.backoff.next();
      const fields = { channel: this.channel, err: describeError(err), retry_in_ms: delay };
      if (this.backoff.failures === 1) this.log.warn(fields, 'LISTEN failed; retrying');
      else this.log.debug(fields, 'LISTEN still failing');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.connect();
      }, delay);
    }
  }

  /** The driver says the session's connection died. */
  private lost(session: number, err?: Error): void {
    if (session !== this.session || this.state === 'stopped') return;
    if (this.state === 'connecting') {
      this.lostWhileConnecting = true;
      return;
    }
    if (this.state !== 'listening') return;
    this.log.warn(
      { channel: this.channel, err: err ? describeError(err) : 'connection ended' },
      'LISTEN connection lost; re-establishing it',
    );
    this.opts.onDown?.();
    this.state = 'down';
    clearTimeout(this.pingDeadline);
    this.pendingPing = undefined;
    // At once (a restart is usually over by the time a new connection is made; the
    // backoff takes over if connecting fails), unless sessions keep dying young.
    if (Date.now() - this.listeningSince > 10_000) this.flapBackoff.reset();
    const delay = this.flapBackoff.failures === 0 ? 0 : this.flapBackoff.next();
    if (delay === 0) this.flapBackoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
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
      await this.db.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
    } catch {
      // The database is unreachable: the session is probably dead too. Check it now.
      this.pendingPing = undefined;
      this.suspect();
      return;
    }
    if (this.pendingPing !== payload) return; // already came back
    this.pingDeadline = setTimeout(() => {
      if (this.pendingPing !== payload || this.state !== 'listening') return;
      this.log.warn(
        { channel: this.channel },
        'LISTEN session stopped delivering notifications; re-establishing it',
      );
      void this.connect();
    }, this.opts.pingTimeoutMs);
  }
}
