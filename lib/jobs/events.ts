// Wakes long-polling readers when a job finishes: one LISTEN connection per process,
// fanned out to the waiters of each job id. Opened lazily on the first wait; if LISTEN
// fails (database down) waits simply time out and readers fall back to re-reading.
import { type Db, FINISHED_CHANNEL } from '../db/port.ts';
import { type JobWaiter, systemClock } from '../http/deps.ts';

export interface JobEvents {
  wait: JobWaiter;
  close(): Promise<void>;
}

export function createJobEvents(db: Db): JobEvents | undefined {
  if (!db.listen) return undefined;
  const listen = db.listen.bind(db);
  const waiters = new Map<string, Set<() => void>>();
  let unlisten: Promise<(() => Promise<void>) | null> | undefined;
  let closed = false;

  const ensure = () => {
    // The payload is a comma-separated list of job ids (migration 003 batches them).
    unlisten ??= listen(FINISHED_CHANNEL, (payload) => {
      for (const id of payload.split(',')) {
        const set = waiters.get(id);
        if (!set) continue;
        waiters.delete(id);
        for (const wake of set) wake();
      }
    }).catch(() => {
      unlisten = undefined; // try again on the next wait
      return null;
    });
    return unlisten;
  };

  const wait: JobWaiter = async (id, ms, signal) => {
    // After close nothing will notify: wait out the time (or the abort) rather than
    // returning at once and letting a caller's loop spin.
    if (closed) return { woken: systemClock.sleep(ms, signal) };
    let wake!: () => void;
    const done = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const set = waiters.get(id) ?? new Set();
    waiters.set(id, set);
    set.add(wake);
    const timer = setTimeout(wake, ms);
    signal?.addEventListener('abort', wake, { once: true });
    await ensure();
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
    async close() {
      closed = true;
      for (const set of waiters.values()) for (const wake of set) wake();
      waiters.clear();
      const u = await unlisten;
      await u?.();
    },
  };
}
