// Values the database cannot take must be a 400 naming the field, never a 500: dates
// outside PostgreSQL's timestamptz range (issue 10 #11), JSON nested deeper than the
// documented limit (#12), and NUL in a failure message (#16). Each also checks that no
// row was written or changed.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../lib/jobs/schemas.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

const job = (over: Record<string, unknown> = {}) => ({
  owner_service: 'telephony',
  owner_ref: 'r/1',
  task_type: 'llm_chat',
  model_profile: 'm',
  input: { user: 'hi' },
  ...over,
});

let api: TestApi;
const count = async () =>
  (await api.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs')).rows[0]!.n;
const paths = (body: { error: { details: { issues?: { path: string }[]; items?: unknown[] } } }) =>
  JSON.stringify(body.error.details);

beforeAll(async () => {
  api = await startTestApi({ MAX_BODY_BYTES: '1048576' });
});
afterAll(async () => api?.close());
beforeEach(async () => {
  await api.t.db.query('DELETE FROM ai_jobs');
});

/** `levels` arrays nested inside each other as JSON text (no recursion to build it). */
const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

describe('dates PostgreSQL cannot store are a 400 naming the field', () => {
  const BAD = [
    '0000-01-01T00:00:00Z',
    '0000-06-15T12:00:00+01:00',
    '2024-01-01T00:00:00+16:00',
    '2024-01-01T00:00:00-23:59',
    '2024-01-01T00:00:00+1900',
    '0001-01-01T00:00:00+00:01',
  ];

  it.each(BAD)('%s on create, batch, list, retry and cancel by filter', async (date) => {
    const create = await api.json('POST', '/api/v1/jobs', job({ run_after: date }));
    expect(create.status).toBe(400);
    expect(create.body.error.details.issues.map((i: { path: string }) => i.path)).toContain('run_after');

    const batch = await api.json('POST', '/api/v1/jobs/batch', { jobs: [job({ run_after: date })] });
    expect(batch.status).toBe(400);
    expect(paths(batch.body)).toContain('run_after');
    const batchDefaults = await api.json('POST', '/api/v1/jobs/batch', {
      defaults: { run_after: date },
      jobs: [job()],
    });
    expect(batchDefaults.status).toBe(400);
    expect(paths(batchDefaults.body)).toContain('run_after');

    for (const field of ['created_after', 'created_before']) {
      const list = await api.json('GET', `/api/v1/jobs?${field}=${encodeURIComponent(date)}`);
      expect(list.status, `list ${field}`).toBe(400);
      expect(paths(list.body)).toContain(field);
      for (const route of ['/api/v1/jobs/retry', '/api/v1/jobs/cancel']) {
        const r = await api.json('POST', route, { [field]: date });
        expect(r.status, `${route} ${field}`).toBe(400);
        expect(paths(r.body)).toContain(field);
      }
    }
    expect(await count()).toBe(0);
  });

  it('the edges of the range are accepted and stored', async () => {
    const early = await api.json('POST', '/api/v1/jobs', job({ run_after: '0001-01-01T15:59:00+15:59' }));
    expect(early.status).toBe(201);
    const late = await api.json('POST', '/api/v1/jobs', job({ run_after: '9999-12-31T23:59:59-15:59' }));
    expect(late.status).toBe(201);
    const list = await api.json('GET', '/api/v1/jobs?created_after=0001-01-01T00:00:00-15:00');
    expect(list.status).toBe(200);
    expect(list.body.jobs).toHaveLength(2);
  });
});

describe(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is a 400`, () => {
  it('5,000 nested arrays in input (create and batch), result (complete and fail)', async () => {
    const deep = nested(5000);
    const create = await api.call(
      'POST',
      '/api/v1/jobs',
      `{"owner_service":"a","owner_ref":"b","task_type":"t","model_profile":"m","input":{"x":${deep}}}`,
    );
    expect(create.status).toBe(400);
    const cb = await create.json();
    expect(cb.error.code).toBe('validation_error');
    expect(cb.error.details.issues[0].path).toMatch(/^input/);

    const batch = await api.call(
      'POST',
      '/api/v1/jobs/batch',
      `{"jobs":[{"owner_service":"a","owner_ref":"b","task_type":"t","model_profile":"m","input":{"x":${deep}}}]}`,
    );
    expect(batch.status).toBe(400);

    // Deep junk in any other field, on any route that reads JSON, is refused the same way.
    for (const route of ['/api/v1/jobs/claim', '/api/v1/jobs/retry', '/api/v1/jobs/reap']) {
      const r = await api.call('POST', route, `{"worker_id":${deep}}`);
      expect(r.status, route).toBe(400);
    }
    expect(await count()).toBe(0);

    await api.json('POST', '/api/v1/jobs', job());
    const claimed = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w' });
    const { id, lease_token } = claimed.body.jobs[0];
    const lease = `"worker_id":"w","lease_token":"${lease_token}"`;
    const complete = await api.call(
      'POST',
      `/api/v1/jobs/${id}/complete`,
      `{${lease},"result":{"x":${deep}}}`,
    );
    expect(complete.status).toBe(400);
    const fail = await api.call(
      'POST',
      `/api/v1/jobs/${id}/fail`,
      `{${lease},"category":"timeout","result":{"x":${deep}}}`,
    );
    expect(fail.status).toBe(400);
    expect((await api.json('GET', `/api/v1/jobs/${id}`)).body.status).toBe('running');
  });

  it(`exactly ${MAX_JSON_DEPTH} levels is accepted; one more is refused naming input`, async () => {
    // input itself is level 1; its value "x" adds MAX_JSON_DEPTH - 1 levels.
    const body = (levels: number) =>
      `{"owner_service":"a","owner_ref":"b","task_type":"t","model_profile":"m","input":{"x":${nested(levels)}}}`;
    expect((await api.call('POST', '/api/v1/jobs', body(MAX_JSON_DEPTH - 1))).status).toBe(201);
    const over = await api.call('POST', '/api/v1/jobs', body(MAX_JSON_DEPTH));
    expect(over.status).toBe(400);
    const j = await over.json();
    expect(j.error.details.issues).toEqual([
      { path: 'input', message: `must nest at most ${MAX_JSON_DEPTH} levels of objects/arrays` },
    ]);
    // The same limit inside a batch item, reported per item.
    const batch = await api.call(
      'POST',
      '/api/v1/jobs/batch',
      `{"jobs":[${body(MAX_JSON_DEPTH - 1)},${body(MAX_JSON_DEPTH)}]}`,
    );
    expect(batch.status).toBe(400);
    expect((await batch.json()).error.details.items.map((i: { index: number }) => i.index)).toEqual([1]);
    expect(await count()).toBe(1);
  });
});

describe('NUL in a failure message', () => {
  it('is a 400 like every other NUL, and the job keeps its lease', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    const claimed = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w' });
    const { id, lease_token } = claimed.body.jobs[0];
    const r = await api.json('POST', `/api/v1/jobs/${id}/fail`, {
      worker_id: 'w',
      lease_token,
      category: 'timeout',
      message: 'before\u0000after',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details.issues[0].path).toBe('message');
    const lone = await api.json('POST', `/api/v1/jobs/${id}/fail`, {
      worker_id: 'w',
      lease_token,
      category: 'timeout',
      message: 'half \ud800 pair',
    });
    expect(lone.status).toBe(400);
    const row = await api.json('GET', `/api/v1/jobs/${id}`);
    expect(row.body).toMatchObject({ status: 'running', attempts: 1 });
  });
});
