// Random bodies, query strings and paths against every route: never a 5xx, always the
// error envelope on 4xx, and a rejected request leaves the database exactly as it was.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleResult } from '../../lib/http/responses.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ MAX_BODY_BYTES: '32768' });
  // Some rows to act on, including a running one with a lease.
  for (let i = 0; i < 5; i++) {
    await api.json('POST', '/api/v1/jobs', {
      owner_service: 'telephony',
      owner_ref: `r/${i}`,
      task_type: 'llm_chat',
      model_profile: 'm',
      input: { i },
    });
  }
  await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w', limit: 2 });
});
afterAll(async () => api?.close());

const snapshot = async () =>
  (
    await api.t.db.query<{ s: string }>(
      `SELECT count(*)::text || ':' || coalesce(max(updated_at)::text, '') || ':' ||
              coalesce(md5(string_agg(id::text || status || attempts::text, ',' ORDER BY id)), '') AS s FROM ai_jobs`,
    )
  ).rows[0]!.s;

const PATHS = [
  '/api/v1/jobs',
  '/api/v1/jobs/batch',
  '/api/v1/jobs/retry',
  '/api/v1/jobs/cancel',
  '/api/v1/jobs/claim',
  '/api/v1/jobs/complete',
  '/api/v1/jobs/fail',
  '/api/v1/jobs/heartbeat',
  '/api/v1/jobs/reap',
  '/api/v1/stats',
  '/api/v1/providers/status',
  '/api/v1/infra/status',
  '/api/v1/openapi.json',
  '/healthz',
  '/readyz',
];
const nasty = fc.constantFrom(
  "' OR 1=1 --",
  '"; DROP TABLE ai_jobs; --',
  '\u0000',
  '\ud800',
  '%00',
  '../../etc/passwd',
  '$1',
  '{}',
  '[]',
  'null',
  '1e309',
  '-1',
  '9'.repeat(40),
  'ö🙂',
  '0000-01-01T00:00:00Z',
  '2024-01-01T00:00:00+23:59',
  '0001-01-01T00:00:00+15:59',
);
const value = fc.oneof(
  fc.string(),
  { arbitrary: nasty, weight: 4 },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), nasty), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), nasty), { maxKeys: 3 }),
);
const FIELDS = [
  'owner_service',
  'owner_ref',
  'task_type',
  'model_profile',
  'input',
  'priority',
  'run_after',
  'max_attempts',
  'idempotency_key',
  'status',
  'ids',
  'dry_run',
  'limit',
  'worker_id',
  'lease_token',
  'result',
  'category',
  'message',
  'retry_after',
  'lease_timeout',
  'task_types',
  'defaults',
  'jobs',
  'cursor',
  'error_category',
  'id',
  'complete',
  'fail',
  'return',
];
// Valid bodies with one or two fields swapped for hostile values reach past the first
// validation error into the deeper checks and the SQL.
// Strings with hostile characters mixed into ordinary ones.
const hostileString = fc.string({
  unit: fc.oneof(
    {
      weight: 1,
      arbitrary: fc.constantFrom('\u0000', '\ud800', '\udfff', "'", '"', '\\', ';', '%', '🙂', '$1'),
    },
    { weight: 3, arbitrary: fc.constantFrom(...'abc/-_.:7') },
  ),
  maxLength: 12,
});
const VALID_JOB = {
  owner_service: 'telephony',
  owner_ref: 'r/1',
  task_type: 'llm_chat',
  model_profile: 'm',
  input: { user: 'hi' },
  idempotency_key: 'k',
};
const VALID = { ...VALID_JOB, worker_id: 'w' };
const nearValid = fc
  .tuple(fc.constantFrom(...FIELDS), value, fc.constantFrom(...FIELDS), value, fc.boolean())
  .map(([k1, v1, k2, v2, two]) => {
    const o: Record<string, unknown> = { ...VALID, [k1]: v1 };
    if (two) o[k2] = v2;
    return JSON.stringify(o);
  });
const nearValidInput = fc
  .dictionary(fc.oneof(fc.string(), nasty), fc.oneof(fc.string(), nasty, fc.json()), { maxKeys: 3 })
  .map((input) => JSON.stringify({ ...VALID, input }));
// Nesting far past the documented depth (issue 10 #12) in input, result or any field.
const deepBody = fc
  .tuple(fc.constantFrom('input', 'result', 'worker_id', 'jobs'), fc.integer({ min: 60, max: 5000 }))
  .map(([k, n]) => `{"worker_id":"w","${k}":{"x":${'['.repeat(n)}1${']'.repeat(n)}}}`);
const body = fc.oneof(
  nearValid,
  deepBody,
  nearValidInput,
  nearValid.map((j) => `{"jobs":[${j}],"defaults":${JSON.stringify(VALID)}}`),
  fc.json(),
  fc.string(),
  nasty,
  fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 }).map((o) => JSON.stringify(o)),
  fc
    .dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 })
    .map((o) => JSON.stringify({ jobs: [o, o] })),
);
const query = fc
  .array(
    fc.tuple(
      // Known keys or any string, drawn from fast-check's own seed so a failure replays
      // (a key sampled once at import time was outside the seed and never reproduced).
      fc.oneof(fc.constantFrom(...FIELDS, 'wait', 'window', 'created_after', 'created_before'), fc.string()),
      fc.oneof(fc.string(), nasty),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => new URLSearchParams(pairs.map(([k, v]) => [k, v])).toString());
const idPath = fc
  .tuple(
    fc.oneof(fc.uuid(), fc.string(), nasty),
    fc.constantFrom('', '/complete', '/fail', '/retry', '/heartbeat', '/x'),
  )
  // A lone surrogate cannot be URI-encoded; send invalid UTF-8 percent-escapes instead.
  .map(([id, tail]) => `/api/v1/jobs/${id.isWellFormed() ? encodeURIComponent(id) : '%ED%A0%80'}${tail}`);

describe('fuzz', () => {
  it('no 5xx, the envelope on every error, nothing written by a rejected request', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.oneof(fc.constantFrom(...PATHS), idPath, fc.webPath()),
        query,
        fc.option(body, { nil: undefined }),
        async (method, path, q, b) => {
          const before = await snapshot();
          const hasBody = b !== undefined && method !== 'GET';
          const res = await api.call(method, `${path}${q ? `?${q}` : ''}`, hasBody ? b : undefined);
          expect(res.status, `${method} ${path}?${q} ${b}`).toBeLessThan(500);
          if (res.status >= 400) {
            const j = await res.json();
            expect(typeof j.error?.code).toBe('string');
            expect(typeof j.error?.message).toBe('string');
            expect(await snapshot(), `${method} ${path} changed the database`).toBe(before);
          } else {
            await res.arrayBuffer();
          }
        },
      ),
      { numRuns: 2500 },
    );
  }, 240_000);

  it('near-valid bodies on each write route: hostile values in one or two fields', async () => {
    const ids = (await api.t.db.query<{ id: string }>('SELECT id FROM ai_jobs ORDER BY id')).rows.map(
      (r) => r.id,
    );
    const lease = { worker_id: 'w', lease_token: crypto.randomUUID() };
    // One valid body per route; each run swaps one or two of its fields for hostile values.
    const templates: [string, Record<string, unknown>][] = [
      ['/api/v1/jobs', VALID_JOB],
      ['/api/v1/jobs/batch', { defaults: VALID_JOB, jobs: [{ owner_ref: 'x' }] }],
      ['/api/v1/jobs/batch', { defaults: VALID_JOB, jobs: [{ owner_ref: 'x' }], return: 'minimal' }],
      ['/api/v1/jobs/claim', { worker_id: 'w', limit: 1, task_types: ['none'] }],
      ['/api/v1/jobs/retry', { owner_service: 'nobody', dry_run: true }],
      ['/api/v1/jobs/cancel', { owner_ref: 'nobody', dry_run: true }],
      [`/api/v1/jobs/${ids[0]}/complete`, { ...lease, result: { ok: 1 } }],
      [`/api/v1/jobs/${ids[0]}/fail`, { ...lease, category: 'timeout', message: 'm' }],
      [`/api/v1/jobs/${ids[0]}/heartbeat`, { ...lease, lease_timeout: '1m' }],
    ];
    const hostile = fc.oneof(
      hostileString,
      value,
      fc.dictionary(hostileString, fc.oneof(hostileString, value), { maxKeys: 3 }),
      fc.array(hostileString, { maxLength: 3 }),
    );
    const mutated = fc
      .tuple(fc.constantFrom(...templates), fc.nat(), hostile, fc.nat(), hostile, fc.boolean())
      .map(([[path, tpl], i, v1, j, v2, two]) => {
        const keys = Object.keys(tpl);
        const o: Record<string, unknown> = { ...tpl, [keys[i % keys.length]!]: v1 };
        if (two) o[keys[j % keys.length]!] = v2;
        if (path.endsWith('/batch')) o.jobs = [{ owner_ref: 'x', ...(two ? { input: v2 } : {}) }];
        return { path, body: JSON.stringify(o) };
      });
    await fc.assert(
      fc.asyncProperty(mutated, async ({ path, body: b }) => {
        const before = await snapshot();
        const res = await api.call('POST', path, b);
        expect(res.status, `POST ${path} ${b}`).toBeLessThan(500);
        if (res.status >= 400) expect(await snapshot(), `POST ${path} ${b}`).toBe(before);
        else await res.arrayBuffer();
      }),
      { numRuns: 2000 },
    );
  }, 240_000);
  it('batch lease routes: hostile items are per-item outcomes, a stale lease never writes', async () => {
    // Running jobs (claimed in beforeAll) addressed with leases they do not hold: whatever
    // the items carry, nothing may change, and every 200 holds one outcome per item.
    const running = (
      await api.t.db.query<{ id: string }>(`SELECT id FROM ai_jobs WHERE status = 'running' ORDER BY id`)
    ).rows.map((r) => r.id);
    expect(running.length).toBeGreaterThan(0);
    const lease = { worker_id: 'w', lease_token: crypto.randomUUID() };
    const items: [string, Record<string, unknown>][] = [
      ['/api/v1/jobs/complete', { ...lease, result: { ok: 1 } }],
      ['/api/v1/jobs/fail', { ...lease, category: 'timeout', message: 'm', retry_after: 1 }],
      ['/api/v1/jobs/heartbeat', { ...lease, lease_timeout: '1m' }],
      ['/api/v1/jobs/claim#complete', { ...lease, result: { ok: 1 } }],
      ['/api/v1/jobs/claim#fail', { ...lease, category: 'timeout' }],
    ];
    const hostile = fc.oneof(hostileString, value, fc.array(hostileString, { maxLength: 3 }));
    const item = fc
      .tuple(fc.constantFrom(...running, crypto.randomUUID()), fc.nat(), hostile, fc.boolean())
      .map(([id, k, v, mutate]) => ({ id, k, v, mutate }));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...items),
        fc.array(item, { minLength: 1, maxLength: 4 }),
        fc.constantFrom(undefined, 'full', 'minimal'),
        async ([route, tpl], xs, shape) => {
          const jobs = xs.map(({ id, k, v, mutate }) => {
            const o: Record<string, unknown> = { id, ...tpl };
            if (mutate) {
              const keys = Object.keys(o);
              o[keys[k % keys.length]!] = v;
            }
            return o;
          });
          const [path, field] = route.split('#') as [string, string | undefined];
          // The claim asks for a task type nobody enqueued: it settles, claims nothing.
          const base = field ? { worker_id: 'w', task_types: ['none'], [field]: jobs } : { jobs };
          const body = shape ? { ...base, return: shape } : base;
          const before = await snapshot();
          const res = await api.call('POST', path, JSON.stringify(body));
          expect(res.status, `POST ${path} ${JSON.stringify(body)}`).toBeLessThan(500);
          const j = await res.json();
          if (res.status >= 400) expect(typeof j.error?.code).toBe('string');
          else {
            const results = field ? j[field] : settleResult.parse(j).results;
            expect(results).toHaveLength(jobs.length);
            for (const r of results) expect(r.outcome).not.toBe('ok');
          }
          // Nothing here is ok, so the other shape must answer byte for byte the same
          // (refusals are never shortened), status and envelope included.
          const other = await api.call(
            'POST',
            path,
            JSON.stringify({ ...base, return: shape === 'minimal' ? 'full' : 'minimal' }),
          );
          expect(other.status).toBe(res.status);
          expect(await other.text(), `POST ${path} ${JSON.stringify(body)}`).toBe(JSON.stringify(j));
          expect(await snapshot(), `POST ${path} ${JSON.stringify(body)}`).toBe(before);
        },
      ),
      { numRuns: 500 },
    );
  }, 240_000);
});
