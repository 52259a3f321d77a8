// The batch route's fast path (lib/jobs/create-check.ts) may only accept what zod
// accepts, and must return what zod returns; everything else is left to zod. Checked on
// the valid shapes it exists for and on many near-misses of each field.
import { describe, expect, it } from 'vitest';
import { plainBatch, plainCreateJob } from '../../lib/jobs/create-check.ts';
import { batchCreateSchema, createJobSchema } from '../../lib/jobs/schemas.ts';

const base = {
  owner_service: 'monitoring-tg',
  owner_ref: 'channel/1001',
  task_type: 'tg_analysis',
  model_profile: 'qwen2.5-14b',
  input: { user: 'Summarise message 1001', n: 1 },
};

const deep = (levels: number): Record<string, unknown> => {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) v = { v };
  return v;
};

const strings = (max: number) => [
  '',
  'a',
  'a'.repeat(max),
  'a'.repeat(max + 1),
  '.a',
  'a b',
  'é',
  'a\u0000b',
  'a\ud800b',
  '\u{1F600}',
  'x'.repeat(max - 1) + '\u{1F600}',
  'A-z_0.9:/@+',
  5,
  null,
  undefined,
  ['a'],
  { a: 1 },
];
const ints = [
  0,
  1,
  -1,
  3,
  100,
  101,
  -1000,
  -1001,
  1000,
  1001,
  1.5,
  -0,
  Number.NaN,
  '3',
  null,
  undefined,
  true,
];
const inputs: unknown[] = [
  {},
  { a: 1 },
  [],
  null,
  'x',
  5,
  deep(64),
  deep(65),
  { s: 'lone \ud800 surrogate' },
  { s: 'nul \u0000' },
  { s: 'escaped text \\ud800 is fine' },
  JSON.parse('{"__proto__": {"x": 1}, "k": 1}'),
  { constructor: 'x' },
  { constructor: { a: 1 } },
  Object.assign(Object.create(null), { a: 1 }),
  { big: 'x'.repeat(1_048_576) },
  { big: 'x'.repeat(1_048_560) },
  { nested: { __proto__: null, a: 1 } },
  new Date(0),
];

function candidates(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [base];
  const set = (k: string, v: unknown) => out.push({ ...base, [k]: v });
  for (const v of strings(100)) set('owner_service', v);
  for (const v of strings(500)) set('owner_ref', v);
  for (const v of strings(100)) set('task_type', v);
  for (const v of strings(200)) set('model_profile', v);
  for (const v of strings(200)) set('idempotency_key', v);
  for (const v of inputs) set('input', v);
  for (const v of ints) {
    set('priority', v);
    set('max_attempts', v);
  }
  set('run_after', '2026-01-01T00:00:00Z');
  set('webhook_url', 'https://example.test/h');
  set('webhook_events', ['failed']);
  set('unknown', 1);
  out.push(JSON.parse(`{"__proto__": {"owner_service": "x"}, ${JSON.stringify(base).slice(1)}`));
  out.push({ ...base, constructor: 'x' });
  for (const k of Object.keys(base)) {
    const { [k]: _, ...rest } = base as Record<string, unknown>;
    out.push(rest);
  }
  return out;
}

describe('plainCreateJob', () => {
  it('accepts only what createJobSchema accepts, and returns the same job', () => {
    let fast = 0;
    for (const v of candidates()) {
      const plain = plainCreateJob(v);
      if (plain === undefined) continue;
      fast++;
      const z = createJobSchema.safeParse(v);
      expect(z.success, JSON.stringify(v).slice(0, 200)).toBe(true);
      expect(plain).toStrictEqual(z.data);
      expect(JSON.stringify(plain.input)).toBe(JSON.stringify(z.data!.input));
    }
    // The shapes it exists for do take it (a fast path that never runs proves nothing).
    expect(plainCreateJob(base)).toBeDefined();
    expect(plainCreateJob({ ...base, priority: 3, max_attempts: 1, idempotency_key: 'tg:1' })).toBeDefined();
    expect(fast).toBeGreaterThan(20);
  });
});

describe('plainBatch', () => {
  it('accepts only what batchCreateSchema accepts, and returns the same body', () => {
    const defaults = { owner_service: 'monitoring-tg', task_type: 'tg_analysis', model_profile: 'm' };
    const bodies: unknown[] = [
      { jobs: [{ owner_ref: 'a' }] },
      { defaults, jobs: [{ owner_ref: 'a' }, {}] },
      { defaults: { ...defaults, owner_service: '' }, jobs: [{}] },
      { defaults: { nope: 1 }, jobs: [{}] },
      { defaults: null, jobs: [{}] },
      { defaults, jobs: [] },
      { defaults, jobs: Array.from({ length: 1000 }, () => ({})) },
      { defaults, jobs: Array.from({ length: 1001 }, () => ({})) },
      { defaults, jobs: [{}, []] },
      { defaults, jobs: [{}, null] },
      { defaults, jobs: [JSON.parse('{"__proto__": {"a": 1}}')] },
      { defaults, jobs: [{ constructor: { a: 1 } }] },
      { defaults, jobs: {} },
      { defaults, jobs: [{}], extra: 1 },
      { defaults, jobs: [{}], return: 'minimal' },
      { jobs: [{ owner_ref: 'a' }], return: 'full' },
      { defaults, jobs: [{}], return: 'lean' },
      { defaults, jobs: [{}], return: null },
      { defaults, jobs: [{}], return: ['minimal'] },
      [],
      null,
      JSON.parse('{"__proto__": {}, "jobs": [{}]}'),
    ];
    let fast = 0;
    for (const v of bodies) {
      const plain = plainBatch(v);
      if (plain === undefined) continue;
      fast++;
      const z = batchCreateSchema.safeParse(v);
      expect(z.success, JSON.stringify(v)?.slice(0, 200)).toBe(true);
      expect(plain).toStrictEqual(z.data);
    }
    expect(fast).toBe(5);
  });
});
