// POST /api/v1/jobs/search (issue 10 #13): the documented 1,000 `ids` cannot fit in a
// GET URL under Node's 16 KiB head limit, so the list's filters also come as a body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
let ids: string[];
beforeAll(async () => {
  api = await startTestApi({ MAX_BODY_BYTES: '1048576' });
  const jobs = Array.from({ length: 120 }, (_, i) => ({ owner_ref: `r/${i}`, input: { i } }));
  const r = await api.json('POST', '/api/v1/jobs/batch', {
    defaults: { owner_service: 's', task_type: 't', model_profile: 'm' },
    jobs,
  });
  ids = r.body.results.map((x: { job: { id: string } }) => x.job.id);
});
afterAll(async () => api?.close());

describe('POST /api/v1/jobs/search', () => {
  it('1,000 ids (37 KB, past the 16 KiB a URL may take) find exactly the existing ones', async () => {
    const wanted = ids.slice(0, 100);
    const unknown = Array.from({ length: 900 }, () => crypto.randomUUID());
    const body = { ids: [...wanted, ...unknown], limit: 500 };
    expect(JSON.stringify(body).length).toBeGreaterThan(16_384);
    const r = await api.json('POST', '/api/v1/jobs/search', body);
    expect(r.status).toBe(200);
    expect(r.body.jobs.map((j: { id: string }) => j.id).sort()).toEqual([...wanted].sort());
    expect(r.body.next_cursor).toBeNull();
  });

  it('answers like GET /api/v1/jobs, cursor included', async () => {
    const get = await api.json('GET', '/api/v1/jobs?owner_service=s&limit=50');
    const post = await api.json('POST', '/api/v1/jobs/search', { owner_service: 's', limit: 50 });
    expect(post).toEqual(get);
    const next = await api.json('POST', '/api/v1/jobs/search', {
      owner_service: 's',
      limit: 50,
      cursor: post.body.next_cursor,
    });
    expect(next.body.jobs[0].id).toBe(ids[69]);
  });

  it('refuses 1,001 ids, unknown fields and bad filters with a 400 naming them', async () => {
    const many = Array.from({ length: 1001 }, () => crypto.randomUUID());
    const r = await api.json('POST', '/api/v1/jobs/search', { ids: many });
    expect(r.status).toBe(400);
    expect(r.body.error.details.issues[0].path).toBe('ids');
    const bad = await api.json('POST', '/api/v1/jobs/search', { status: ['nope'], extra: 1 });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['status.0', '']));
    expect((await api.json('POST', '/api/v1/jobs/search', 'nope')).body.error.code).toBe('invalid_json');
  });
});
