// Circuit breaker per provider. After `threshold` consecutive failures that blame the
// provider (unreachable, too slow, 5xx) the runner stops claiming that provider's jobs for
// a cool-down: they wait in the queue instead of burning their attempts against a dead
// endpoint. When the cool-down ends the circuit is half-open and lets exactly one probe
// job through: success closes it, another such failure re-opens it with the cool-down
// doubled (capped), so a long outage costs one attempt per cool-down, not a stream.
import type { FailureCategory } from '../lib/jobs/categories.ts';
import type { Logger } from '../lib/telemetry/port.ts';

export type CircuitState = 'closed' | 'open' | 'half_open';

/** Outcomes that blame the provider (the brief's list); they count towards opening. */
export const BREAKER_CATEGORIES: ReadonlySet<FailureCategory> = new Set([
  'provider_unavailable',
  'timeout',
  'provider_error',
]);

/** The provider answered and judged the job itself: proof it is up. */
const HEALTHY_CATEGORIES: ReadonlySet<FailureCategory> = new Set([
  'invalid_input',
  'context_length_exceeded',
]);

export type CircuitOutcome = 'success' | 'breaker' | 'neutral';

/** How a job outcome counts for its provider's circuit (null = success). */
export function circuitOutcome(category: FailureCategory | null): CircuitOutcome {
  if (category === null || HEALTHY_CATEGORIES.has(category)) return 'success';
  return BREAKER_CATEGORIES.has(category) ? 'breaker' : 'neutral';
}

export interface CircuitOptions {
  /** Consecutive breaker failures that open the circuit. */
  threshold: number;
  cooldownMs: number;
  /** Cap for the doubling cool-down after failed probes. */
  maxCooldownMs: number;
}

export const DEFAULT_CIRCUIT: CircuitOptions = {
  threshold: 5,
  cooldownMs: 30_000,
  maxCooldownMs: 5 * 60_000,
};

export interface CircuitSnapshot {
  state: CircuitState;
  consecutive_failures: number;
  opened_at: string | null;
  retry_at: string | null;
  opens: number;
}

export class Circuit {
  private state: CircuitState = 'closed';
  private failures = 0;
  private cooldown: number;
  private openedAt: number | null = null;
  private retryAt: number | null = null;
  private probing = false;
  private opens = 0;

  constructor(
    readonly provider: string,
    private readonly opts: CircuitOptions = DEFAULT_CIRCUIT,
    private readonly now: () => number = Date.now,
  ) {
    this.cooldown = opts.cooldownMs;
  }

  /** An open circuit becomes half-open when its cool-down has passed (checked lazily, no timer). */
  private refresh(): void {
    if (this.state === 'open' && this.now() >= (this.retryAt ?? 0)) this.state = 'half_open';
  }

  get current(): CircuitState {
    this.refresh();
    return this.state;
  }

  /** How many jobs may be claimed for this provider now: Infinity, 1 (a probe) or 0. */
  allowance(): number {
    this.refresh();
    if (this.state === 'closed') return Number.POSITIVE_INFINITY;
    if (this.state === 'half_open') return this.probing ? 0 : 1;
    return 0;
  }

  /** Milliseconds until claiming may resume (for the runner's wake-up timer); 0 when it may now. */
  msUntilRetry(): number {
    return this.state === 'open' ? Math.max(0, (this.retryAt ?? 0) - this.now()) : 0;
  }

  onClaimed(count: number): void {
    this.refresh();
    if (this.state === 'half_open' && count > 0) this.probing = true;
  }

  /** Records a finished job; returns true when this call opened the circuit. */
  record(outcome: CircuitOutcome): boolean {
    this.refresh();
    if (outcome === 'success') {
      this.state = 'closed';
      this.failures = 0;
      this.cooldown = this.opts.cooldownMs;
      this.probing = false;
      this.openedAt = this.retryAt = null;
      return false;
    }
    if (outcome === 'neutral') {
      // A probe that proved nothing (cancelled, rate limited…) frees the slot for another.
      this.probing = false;
      return false;
    }
    this.failures++;
    if (this.state === 'half_open') {
      this.cooldown = Math.min(this.cooldown * 2, this.opts.maxCooldownMs);
      return this.open();
    }
    if (this.state === 'closed' && this.failures >= this.opts.threshold) return this.open();
    return false;
  }

  private open(): boolean {
    this.state = 'open';
    this.probing = false;
    this.opens++;
    this.openedAt = this.now();
    this.retryAt = this.openedAt + this.cooldown;
    return true;
  }

  snapshot(): CircuitSnapshot {
    this.refresh();
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      state: this.state,
      consecutive_failures: this.failures,
      opened_at: iso(this.openedAt),
      retry_at: iso(this.retryAt),
      opens: this.opens,
    };
  }
}

/** The runner's circuits, one per provider its handlers name; opening one schedules the claim that probes it. */
export class Circuits {
  private readonly byProvider = new Map<string, Circuit>();

  constructor(
    handlers: readonly { provider?: string; name: string }[],
    opts: CircuitOptions,
    now: () => number,
    private readonly log: Logger,
    /** Asks for a claim round after `ms` (when a cool-down ends). */
    private readonly wakeIn: (ms: number) => void,
  ) {
    for (const h of handlers) {
      const p = h.provider ?? h.name;
      if (!this.byProvider.has(p)) this.byProvider.set(p, new Circuit(p, opts, now));
    }
  }

  of(h: { provider?: string; name: string }): Circuit {
    return this.byProvider.get(h.provider ?? h.name)!;
  }

  /** Records a finished job's outcome (null = success) and logs when the circuit opens or closes. */
  record(circuit: Circuit, category: FailureCategory | null): void {
    const before = circuit.current;
    const opened = circuit.record(circuitOutcome(category));
    if (opened) {
      const wait = circuit.msUntilRetry();
      this.log.warn(
        { provider: circuit.provider, category, retry_in_ms: wait },
        'circuit opened: not claiming this provider’s jobs until the cool-down ends',
      );
      this.wakeIn(wait + 5);
    } else if (before !== 'closed' && circuit.current === 'closed') {
      this.log.info({ provider: circuit.provider }, 'circuit closed: the provider answers again');
    }
  }

  snapshot(): Record<string, CircuitSnapshot> {
    return Object.fromEntries([...this.byProvider].map(([k, c]) => [k, c.snapshot()]));
  }
}
