// A clock the test moves by hand, for the runner's time-driven logic (poll interval,
// heartbeat cadence, drain grace, circuit cool-downs, backoffs): `advance(ms)` fires the
// timers that fall due, in order, each at its own time, and lets promise chains and
// I/O callbacks run after each one. Real I/O (the database, loopback providers) keeps
// running in real time; only the runner's notion of time is manual.
import type { TimerId, WorkerClock } from '../../workers/clock.ts';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ManualClock implements WorkerClock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<TimerId, Timer>();

  /** Starts at the real time so timestamps compared with the database's stay plausible. */
  constructor(start = Date.now()) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = {};
    this.timers.set(id, { at: this.t + Math.max(0, ms), seq: this.seq++, fn });
    return id;
  }

  clearTimeout(id: TimerId | undefined): void {
    if (id) this.timers.delete(id);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (in order). */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      let next: [TimerId, Timer] | undefined;
      for (const e of this.timers) {
        if (e[1].at > until) continue;
        if (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq)) next = e;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await turn();
    }
    this.t = until;
    await turn();
  }
}
