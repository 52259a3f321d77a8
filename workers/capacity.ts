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

/** The built-in handlers' pools and the variables that limit them. */
export const POOL_VARIABLES = {
  llm: 'WORKER_LLM_CONCURRENCY',
  transcribe: 'WORKER_TRANSCRIBE_CONCURRENCY',
  compare: 'WORKER_COMPARE_CONCURRENCY',
} as const;

export type PoolName = keyof typeof POOL_VARIABLES;

/**
 * Each served pool's limit: its variable when set; otherwise what the total leaves after
 * the other pool (at least 1); with neither set, transcription gets a quarter of the total
 * (at least 1) and the LLM the rest, so with the default total of 4 three LLM calls and one
 * transcription run side by side. A pool alone on the worker gets the whole total.
 * `overcommitted`: the limits add up to more than the total, so a full pool can still
 * delay the other (said once at start-up).
 */
export function poolLimits(
  total: number,
  set: Partial<Record<PoolName, number | undefined>>,
  served: ReadonlySet<string>,
): { limits: Partial<Record<PoolName, number>>; overcommitted: boolean } {
  const limits: Partial<Record<PoolName, number>> = {};
  // Transcription comparisons (deferred A/B providers) get their own slots first, one by
  // default, carved out of the total: a running comparison never holds a transcript's slot.
  let rest = total;
  if (served.has('compare')) {
    limits.compare = Math.min(total, set.compare ?? 1);
    rest = Math.max(1, total - limits.compare);
  }
  const pools = (['llm', 'transcribe'] as const).filter((p) => served.has(p));
  if (pools.length === 1) {
    const p = pools[0]!;
    limits[p] = Math.min(rest, set[p] ?? rest);
  } else if (pools.length === 2) {
    let { llm, transcribe } = set;
    if (llm === undefined && transcribe === undefined) transcribe = Math.max(1, Math.floor(rest / 4));
    if (llm === undefined) llm = Math.max(1, rest - transcribe!);
    if (transcribe === undefined) transcribe = Math.max(1, rest - llm);
    limits.llm = Math.min(rest, llm);
    limits.transcribe = Math.min(rest, transcribe);
  }
  const sum = Object.values(limits).reduce((a, b) => a + b, 0);
  return { limits, overcommitted: sum > total };
}
