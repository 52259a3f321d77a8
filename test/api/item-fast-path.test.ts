// The hand-checked complete item (lib/http/item-fast-path.ts) against completeItemSchema:
// random items, well-formed and not, go through checkItems with and without the fast path,
// and what each makes of them — the valid items as the repository receives them, every
// refusal as the wire answers it — must be byte-identical.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastCompleteItem } from '../../lib/http/item-fast-path.ts';
import { checkItems, results, toCompleteItem } from '../../lib/http/settle.ts';
import { completeItemSchema, MAX_JSON_DEPTH, MAX_RESULT_BYTES } from '../../lib/jobs/schemas.ts';

/** Both paths over one request's items: the valid items' payload and the early answers. */
function bothWays(raw: unknown[]) {
  const run = (fast: boolean) => {
    const checked = checkItems(completeItemSchema, raw, new Set(), fast ? fastCompleteItem : undefined);
    return {
      payload: JSON.stringify(checked.valid.map((v) => ({ index: v.index, ...toCompleteItem(v.item) }))),
      // Every valid item answered not_found, so each index has a wire answer to compare.
      answer: JSON.stringify(
        results(
          checked,
          checked.valid.map(() => ({ outcome: 'not_found', error: { message: 'm' } as never })),
          raw.length,
        ),
      ),
    };
  };
  return { fast: run(true), zod: run(false) };
}

const uuid = fc.uuid().map((u) => u);
const nested = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`);
const oddString = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    '',
    '\u0000',
    'a\ud800',
    '\udfff',
    '🙂',
    'x'.repeat(200),
    'x'.repeat(201),
    '🙂'.repeat(100),
    '🙂'.repeat(101),
    '\\u0000',
    '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f0',
    '0191F6A2-7C3E-7D2A-9B1E-2F4C5D6E7F01',
    '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f01\n',
    ' 0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f01',
  ),
);
const oddValue = fc.oneof(
  oddString,
  uuid,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(oddString, { maxLength: 2 }),
  fc.json().map((j) => JSON.parse(j)),
  fc.constantFrom(MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1).map(nested),
  fc
    .constantFrom(
      '{"__proto__":{"a":1},"b":2}',
      '{"__proto__":null}',
      '{"s":"\\u0000"}',
      '{"s":"\\ud800"}',
      '{"s":"\\\\u0000"}',
      '{"s":"\\udbff\\udfff"}',
      '{"constructor":1,"toString":2}',
      '{}',
      '[]',
      '{"1":1,"a":2,"0":3}',
    )
    .map((j) => JSON.parse(j)),
);
const KEYS = ['id', 'worker_id', 'lease_token', 'result'] as const;
const item = fc
  .record({
    id: uuid,
    worker_id: fc.oneof(fc.constantFrom('w', 'gpu-1'), oddString),
    lease_token: uuid,
    result: fc.oneof(
      fc.constant({}),
      fc.json().map((j) => JSON.parse(j)),
      oddValue,
    ),
    change: fc.array(fc.tuple(fc.constantFrom(...KEYS, 'extra', '__proto__'), oddValue, fc.boolean()), {
      maxLength: 2,
    }),
  })
  .map(({ change, ...o }) => {
    // Built as JSON text and parsed, as the route receives it (an own "__proto__" key too).
    const entries: [string, unknown][] = Object.entries(o);
    for (const [k, v, drop] of change) {
      const at = entries.findIndex(([key]) => key === k);
      if (drop && at >= 0) entries.splice(at, 1);
      else if (at >= 0) entries[at] = [k, v];
      else entries.push([k, v]);
    }
    return JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  });
const anyItem = fc.oneof({ weight: 8, arbitrary: item }, { weight: 1, arbitrary: oddValue });

describe('the hand-checked complete item', () => {
  it('accepts and refuses exactly as completeItemSchema, byte for byte', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.array(anyItem, { minLength: 1, maxLength: 6 }), (raw) => {
        for (const v of raw) {
          const fast = fastCompleteItem(v);
          const zod = completeItemSchema.safeParse(v);
          // The fast path never accepts what the schema refuses, nor changes the value.
          if (fast !== undefined) {
            accepted++;
            expect(zod.success).toBe(true);
            expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
          } else if (!zod.success) refused++;
        }
        const { fast, zod } = bothWays(raw);
        expect(fast).toEqual(zod);
      }),
      { numRuns: 3000 },
    );
    // Both kinds were exercised (a test that cannot fail proves nothing).
    expect(accepted).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });

  it('repeated ids: refused at the later index on both paths', () => {
    const id = crypto.randomUUID();
    const one = { id, worker_id: 'w', lease_token: crypto.randomUUID(), result: {} };
    const raw = [one, { ...one, id: id.toUpperCase() }, { ...one, result: 'x' }, one];
    const { fast, zod } = bothWays(raw);
    expect(fast).toEqual(zod);
    expect(JSON.parse(fast.answer).map((r: { outcome: string }) => r.outcome)).toEqual([
      'not_found',
      'validation_error',
      'validation_error',
      'validation_error',
    ]);
  });

  it('leaves a result over MAX_RESULT_BYTES to the schema', () => {
    const big = { s: 'x'.repeat(MAX_RESULT_BYTES) };
    const v = { id: crypto.randomUUID(), worker_id: 'w', lease_token: crypto.randomUUID(), result: big };
    expect(fastCompleteItem(v)).toBeUndefined();
    const { fast, zod } = bothWays([v]);
    expect(fast).toEqual(zod);
    expect(fast.answer).toContain('must serialise to at most');
  });
});
