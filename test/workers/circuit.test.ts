// The circuit breaker as a state machine, on a fake clock.
import { describe, expect, it } from 'vitest';
import { Circuit, circuitOutcome } from '../../workers/circuit.ts';

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe('circuit breaker', () => {
  it('classifies outcomes: provider failures open it, answers about the job prove it is up', () => {
    expect(
      ['provider_unavailable', 'timeout', 'provider_error'].map((c) => circuitOutcome(c as never)),
    ).toEqual(['breaker', 'breaker', 'breaker']);
    expect(circuitOutcome(null)).toBe('success');
    expect(circuitOutcome('invalid_input')).toBe('success');
    expect(circuitOutcome('context_length_exceeded')).toBe('success');
    expect(circuitOutcome('rate_limited')).toBe('neutral');
    expect(circuitOutcome('cancelled')).toBe('neutral');
  });

  it('opens after N consecutive failures, probes once after the cool-down, doubles it on a failed probe', () => {
    const c0 = clock();
    const c = new Circuit('llm', { threshold: 3, cooldownMs: 1_000, maxCooldownMs: 3_000 }, c0.now);
    c.record('breaker');
    c.record('success'); // resets the streak
    c.record('breaker');
    c.record('breaker');
    expect(c.current).toBe('closed');
    expect(c.record('breaker')).toBe(true);
    expect(c.allowance()).toBe(0);
    expect(c.msUntilRetry()).toBe(1_000);

    c0.advance(1_000);
    expect(c.current).toBe('half_open');
    expect(c.allowance()).toBe(1);
    c.onClaimed(1);
    expect(c.allowance()).toBe(0); // one probe at a time
    expect(c.record('breaker')).toBe(true); // failed probe: open again, twice as long
    expect(c.msUntilRetry()).toBe(2_000);

    c0.advance(2_000);
    c.onClaimed(1);
    c.record('breaker');
    expect(c.msUntilRetry()).toBe(3_000); // capped

    c0.advance(3_000);
    c.onClaimed(1);
    c.record('neutral'); // a probe that proved nothing frees the slot
    expect(c.allowance()).toBe(1);
    c.onClaimed(1);
    c.record('success');
    expect(c.snapshot()).toMatchObject({
      state: 'closed',
      consecutive_failures: 0,
      opens: 3,
      retry_at: null,
    });
    expect(c.allowance()).toBe(Number.POSITIVE_INFINITY);
  });
});
