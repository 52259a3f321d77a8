// The job every burn-down and enqueue run uses: ≈200 bytes of JSON input, the same for
// our table and for the peers' (pg-boss `data`, graphile-worker `payload`).
import type { CreateJob } from '../../lib/jobs/schemas.ts';

export const TASK_TYPE = 'bench_noop';
export const MODEL_PROFILE = 'noop';
export const QUEUE = 'bench_noop';

const FILLER = 'Classify the sentiment of this message as JSON. ';

export function benchInput(i: number): Record<string, unknown> {
  return {
    system: 'You are a strict classifier.',
    user: `${FILLER}Message #${i}: the delivery was late but support was helpful.`,
    max_tokens: 64,
    call_id: `c-${i.toString(36).padStart(8, '0')}`,
  };
}

/** Serialised size of one input (reported so "≈200 bytes" is checkable). */
export const INPUT_BYTES = JSON.stringify(benchInput(123456)).length;

export function benchJob(i: number): CreateJob {
  return {
    owner_service: 'bench',
    owner_ref: `ref-${i}`,
    task_type: TASK_TYPE,
    model_profile: MODEL_PROFILE,
    input: benchInput(i),
  };
}

/** Index ranges [from, to) of `size`-item batches covering 0..n. */
export function* batches(n: number, size = 1000): Generator<[number, number]> {
  for (let from = 0; from < n; from += size) yield [from, Math.min(n, from + size)];
}
