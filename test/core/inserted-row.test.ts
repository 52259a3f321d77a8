// createJobs builds the rows it wrote in Node (lib/jobs/inserted.ts) instead of reading
// them back: each must equal the stored row read with SELECT * — every column, its value
// and the key order — so a batch answer is byte-for-byte what RETURNING * gave. A new
// column, a changed default, or an input jsonb prints differently fails here.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import { asJsonb } from '../../lib/jobs/inserted.ts';
import { type JobRow, toJobJson } from '../../lib/jobs/row.ts';
import type { CreateJob } from '../../lib/jobs/schemas.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

const base: CreateJob = {
  owner_service: 'telephony',
  owner_ref: 'beeline/1',
  task_type: 'llm_chat',
  model_profile: 'qwen2.5-14b',
  input: { user: 'hi' },
};

// Inputs whose jsonb text differs from JSON.stringify of what was sent: key order (by
// length, then bytes; integer-like keys), non-ASCII keys, numbers jsonb prints in full,
// escapes, nesting, a "__proto__" key, an empty object and array.
const inputs: Record<string, unknown>[] = [
  { system: 'You are a strict classifier.', user: 'u', max_tokens: 64, call_id: 'c-1' },
  { b: 1, a: 2, '10': 3, '2': 4, '': 5, aa: 6, é: 7, z: 8, '\u{1F600}': 9, ÿ: 10, ā: 11 },
  { n: [1e21, 0.1, -0, 5e-324, 1.7976931348623157e308, 123456789012345680000, -1.5e-7, 2 ** 53 + 2] },
  {
    s: 'quote " backslash \\ newline \n tab \t ctrl \u0001 \u2028 emoji \u{1F600} é',
    deep: { y: [{ b: 1, a: [] }], x: {} },
  },
  JSON.parse('{"__proto__": {"polluted": true}, "k": 1}'),
  { nested: { zz: { bb: 1, a: { d: null, c: true, ccc: false } } }, arr: [[3, 2, 1], { q: 1, p: 2 }] },
  {},
];

describe.each(DRIVERS)('rows built by createJobs equal SELECT * on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
  });

  const stored = async (ids: string[]) => {
    const r = await db.query<JobRow>('SELECT * FROM ai_jobs WHERE id = ANY($1::uuid[])', [ids]);
    return new Map(r.rows.map((row) => [row.id, row]));
  };

  const expectSame = async (jobs: CreateJob[]) => {
    const out = await createJobs(db, jobs);
    const rows = await stored(out.map((o) => o.job.id));
    expect(rows.size).toBe(jobs.length);
    for (const o of out) {
      expect(o.outcome).toBe('created');
      const want = rows.get(o.job.id)!;
      expect(Object.keys(o.job)).toEqual(Object.keys(want));
      expect(o.job).toStrictEqual(want);
      // The bytes an answer carries, and the row itself (Dates as ISO, key order kept).
      expect(JSON.stringify(toJobJson(o.job))).toBe(JSON.stringify(toJobJson(want)));
      expect(JSON.stringify(o.job)).toBe(JSON.stringify(want));
    }
    return out;
  };

  it('for default columns and every input shape', async () => {
    await expectSame(inputs.map((input, i) => ({ ...base, owner_ref: `r/${i}`, input })));
  });

  it('for every optional field, run_after in several forms, with and without keys', async () => {
    const soon = Date.now() + 60_000;
    const out = await expectSame([
      { ...base, priority: -7, max_attempts: 1, idempotency_key: 'k1' },
      { ...base, run_after: new Date(soon).toISOString(), idempotency_key: 'k2' },
      { ...base, run_after: '2026-01-02T03:04:05.123456+05:30' },
      { ...base, run_after: '2020-06-30T23:59:59.9999996Z' },
      { ...base, run_after: '2030-12-31T00:00:00-15:59' },
      { ...base, webhook_url: 'https://example.test/hook', webhook_events: ['failed', 'completed'] },
      { ...base, webhook_url: 'https://example.test/h2' },
      { ...base, owner_ref: 'ünïcödé \u{1F600}', task_type: 'a.b:c/d@e+f-g_h' },
    ]);
    // A given run_after is PostgreSQL's reading of it; an absent one is the statement's now().
    expect(out[2]!.job.run_after.toISOString()).toBe('2026-01-01T21:34:05.123Z');
    expect(+out[0]!.job.run_after).toBe(+out[0]!.job.created_at);
  });

  it('when the batch has no keys (one statement, no transaction, rows returned only where needed)', async () => {
    const out = await expectSame([
      ...Array.from({ length: 50 }, (_, i) => ({ ...base, owner_ref: `n/${i}`, input: { i } })),
      { ...base, run_after: '2026-01-02T03:04:05.123456+05:30' },
      { ...base, webhook_url: 'https://example.test/h', webhook_events: [] },
    ]);
    expect(out[50]!.job.run_after.toISOString()).toBe('2026-01-01T21:34:05.123Z');
    expect(out[51]!.job.webhook_events).toBeNull();
  });
});

describe('asJsonb', () => {
  it('orders keys as jsonb prints them and keeps "__proto__" an own key', () => {
    expect(Object.keys(asJsonb({ bb: 1, c: 2, a: 3, '10': 4, '9': 5 }) as object)).toEqual([
      '9',
      '10',
      'a',
      'c',
      'bb',
    ]);
    const v = asJsonb(JSON.parse('{"__proto__": {"x": 1}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});
