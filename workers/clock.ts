// The worker's time source: `now()` and one-shot timers. Everything time-driven in the
// runner (poll interval, NOTIFY folding, heartbeat cadence, claim and write backoffs,
// circuit cool-downs, drain grace) reads and waits through it, so tests drive that logic
// with a manual clock instead of real sleeps (test/workers/manual-clock.ts).
export type TimerId = object;

export interface WorkerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(t: TimerId | undefined): void;
}

export const systemClock: WorkerClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout | undefined),
};

/** Resolves after `ms` on `clock`. */
export const sleepOn = (clock: WorkerClock, ms: number): Promise<void> =>
  new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
