// How many more jobs this worker may take: a total (WORKER_CLAIM_LIMIT) and, per handler
// pool (the built-in `llm` and `transcribe`), a limit of its own, so one kind of work
// filling its slots never holds another's (audio never waits behind text, as long as the
// pools' limits fit in the total). A handler without a pool, or in a pool without a
// limit, is bounded by the total alone (the benchmark's no-op).
import type { SlotUse } from './status.ts';

interface Pool {
  limit: number;
  running: number;
}

export class Capacity {
  private running = 0;
  private readonly pools = new Map<string, Pool>();

  constructor(
    readonly total: number,
    poolLimits: Readonly<Record<string, number>> = {},
  ) {
    if (total < 1) throw new Error('claimLimit must be at least 1');
    for (const [name, limit] of Object.entries(poolLimits)) {
      if (!(limit >= 1)) throw new Error(`the slot limit of ${name} must be at least 1`);
      this.pools.set(name, { limit, running: 0 });
    }
  }

  get inUse(): number {
    return this.running;
  }

  /** Jobs that may still start in `pool` (undefined: no pool of its own). */
  free(pool: string | undefined): number {
    const free = this.total - this.running;
    const p = pool === undefined ? undefined : this.pools.get(pool);
    return p ? Math.min(free, p.limit - p.running) : free;
  }

  take(pool: string | undefined): void {
    this.running++;
    if (pool !== undefined) {
      const p = this.pools.get(pool);
      if (p) p.running++;
    }
  }

  give(pool: string | undefined): void {
    this.running--;
    if (pool !== undefined) {
      const p = this.pools.get(pool);
      if (p) p.running--;
    }
  }

  status(): { total: SlotUse; pools: Record<string, SlotUse> } {
    return {
      total: { limit: this.total, running: this.running },
      pools: Object.fromEntries([...this.pools].map(([k, p]) => [k, { limit: p.limit, running: p.running }])),
    };
  }
}
