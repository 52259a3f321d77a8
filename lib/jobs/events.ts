// Wakes long-polling readers when a job finishes: one LISTEN session per process on
// ai_jobs_finished (lib/db/listener.ts: reconnects when its connection dies, checks
// itself with pings), fanned out to the waiters of each job id. Started lazily on the
// first wait. Whenever the session is not known to be delivering (lost, reconnecting,
// database down) waiters are woken to re-read the job: at once when the session is lost
// or comes back, and every half second while it is down.

import { systemClock } from '../clock.ts';
import { DbListener } from '../db/listener.ts';
import { type Db, FINISHED_CHANNEL } from '../db/port.ts';
import { type Logger, silentLogger } from '../telemetry/port.ts';
import type { JobWaiter } from './wait.ts';

export interface JobEvents {
  wait: JobWaiter;
  /** The LISTEN session's state, for status pages and tests. */
  readonly status: DbListener['status'];
  close(): Promise<void>;
}

export interface JobEventsOptions {
  log?: Logger;
  /** Self-NOTIFY ping period (default 15 s) and how long a ping may take (default 5 s). */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
}

// While no session is delivering, a waiter waits up to CONNECT_WAIT_MS for it and then
// re-reads the job every DEAF_RECHECK_MS: a job that ends meanwhile is answered within
// about a second, the promise a long-poll makes.
const DEAF_RECHECK_MS = 500;
const CONNECT_WAIT_MS = 500;

export function createJobEvents(db: Db, opts: JobEventsOptions = {}): JobEvents | undefined {
  if (!db.listen) return undefined;
  const waiters = new Map<string, Set<() => void>>();
  let started = false;
  let closed = false;

  const wakeAll = () => {
    const all = [...waiters.values()];
    waiters.clear();
    for (const set of all) for (const wake of set) wake();
  };

  const listener = new DbListener(db, FINISHED_CHANNEL, opts.log ?? silentLogger, {
    pingIntervalMs: opts.pingIntervalMs ?? 15_000,
    pingTimeoutMs: opts.pingTimeoutMs ?? 5_000,
    // The payload is a comma-separated list of job ids (migration 003 batches them).
    onPayload: (payload) => {
      for (const id of payload.split(',')) {
        const set = waiters.get(id);
        if (!set) continue;
        waiters.delete(id);
        for (const wake of set) wake();
      }
    },
    // Jobs may have finished while the session was deaf: everyone re-reads.
    onListening: (reconnected) => {
      if (reconnected) wakeAll();
    },
    onDown: wakeAll,
  });

  const wait: JobWaiter = async (id, ms, signal) => {
    // After close nothing will notify: wait out the time (or the abort) rather than
    // returning at once and letting a caller's loop spin.
    if (closed) return { woken: systemClock.sleep(ms, signal) };
    if (!started) {
      started = true;
      listener.start();
    }
    let wake!: () => void;
    const done = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const set = waiters.get(id) ?? new Set();
    waiters.set(id, set);
    set.add(wake);
    signal?.addEventListener('abort', wake, { once: true });
    // The caller re-reads the job after this returns, so a finish announced before the
    // session is up is still seen; if it does not come up, the waiter re-reads regularly.
    const listening = await listener.ready(Math.min(ms, CONNECT_WAIT_MS));
    const timer = setTimeout(wake, listening ? ms : Math.min(ms, DEAF_RECHECK_MS));
    const woken = done.then(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      const s = waiters.get(id);
      s?.delete(wake);
      if (s?.size === 0) waiters.delete(id);
    });
    return { woken };
  };

  return {
    wait,
    get status() {
      return listener.status;
    },
    async close() {
      closed = true;
      wakeAll();
      await listener.stop();
    },
  };
}
