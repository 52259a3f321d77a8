// The queue-control and workers endpoints (issue 11) and the heartbeat's lease length
// (issue 10, defect 1), HTTP in, JSON and rows out.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';

const llmJob = (ref: string, over: Record<string, unknown> = {}) => ({
  owner_service: 'crm',
  owner_ref: ref,
  task_type: 'llm_chat',
  model_profile: 'qwen2.5-14b',
  input: { user: 'hello' },
  ...over,
});

describe('queues and workers over HTTP', () => {
  let api: TestApi;
  beforeAll(async () => {
    // The API process's own default lease is long: a heartbeat must not fall back to it.
    api = await startTestApi({ WORKER_LEASE_TIMEOUT: '15m', PROFILE_LIMITS: 'whisperx=2' });
  });
  afterAll(async () => api?.close());
  beforeEach(async () => {
    await api.t.db.query('DELETE FROM ai_jobs');
    await api.t.db.query('DELETE FROM ai_queues');
    await api.t.db.query('DELETE FROM ai_workers');
  });

  it('issue 10 defect 1: a heartbeat without lease_timeout keeps the 5 s chosen at claim', async () => {
    await api.json('POST', '/api/v1/jobs', llmJob('a'));
    const claim = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'ext-1', lease_timeout: '5s' });
    const [job] = claim.body.jobs;
    const hb = await api.json('POST', `/api/v1/jobs/${job.id}/heartbeat`, {
      worker_id: 'ext-1',
      lease_token: job.lease_token,
    });
    expect(hb.status).toBe(200);
    const left = (Date.parse(hb.body.lease_expires_at) - Date.now()) / 1000;
    expect(left).toBeGreaterThan(3);
    expect(left).toBeLessThan(6);
  });

  it('a failed unserved check costs the warning, never the answer of a created job', async () => {
    // The check reads ai_workers; without it the check fails while the INSERT succeeds.
    await api.t.db.query('ALTER TABLE ai_workers RENAME TO ai_workers_away');
    try {
      const r = await api.call('POST', '/api/v1/jobs', llmJob('check-fails', { task_type: 'never_served' }));
      expect(r.status).toBe(201);
      expect(r.headers.get('warning')).toBeNull();
      const body = await r.json();
      expect(body.warning).toBeUndefined();
      const rows = await api.t.db.query<{ id: string }>('SELECT id FROM ai_jobs');
      expect(rows.rows).toEqual([{ id: body.id }]);
    } finally {
      await api.t.db.query('ALTER TABLE ai_workers_away RENAME TO ai_workers');
    }
  });

  it('registers claiming workers; warns on POST /jobs when nobody serves the job', async () => {
    const unserved = await api.call('POST', '/api/v1/jobs', llmJob('w1'));
    expect(unserved.status).toBe(201);
    expect(unserved.headers.get('warning')).toMatch(/no live worker serves task_type llm_chat/);
    expect((await unserved.json()).warning).toMatch(/qwen2.5-14b/);

    await api.json('POST', '/api/v1/jobs/claim', {
      worker_id: 'gpu-box-2',
      task_types: ['llm_chat'],
      model_profiles: ['qwen2.5-14b'],
      worker_version: 'ext/0.3',
      limit: 1,
    });
    const workers = await api.json('GET', '/api/v1/workers');
    expect(workers.body.workers).toEqual([
      expect.objectContaining({
        worker_id: 'gpu-box-2',
        version: 'ext/0.3',
        live: true,
        serves: [{ task_types: ['llm_chat'], model_profiles: ['qwen2.5-14b'] }],
      }),
    ]);
    const served = await api.call('POST', '/api/v1/jobs', llmJob('w2'));
    expect(served.status).toBe(201);
    expect(served.headers.get('warning')).toBeNull();
    expect((await served.json()).warning).toBeUndefined();

    // The spec's own tg_analysis: nobody serves it; stats and /queues say so.
    await api.json('POST', '/api/v1/jobs', llmJob('tg', { task_type: 'tg_analysis' }));
    const stats = await api.json('GET', '/api/v1/stats');
    expect(stats.body.unserved).toEqual([
      { task_type: 'tg_analysis', model_profile: 'qwen2.5-14b', pending: 1 },
    ]);
    const queues = await api.json('GET', '/api/v1/queues');
    expect(queues.body.queues.find((q: { name: string }) => q.name === 'tg_analysis')).toMatchObject({
      scope: 'task_type',
      backlog: 1,
      unserved: 1,
    });
  });

  it('REJECT_UNSERVED=true answers 422 and writes nothing', async () => {
    const strict = await startTestApi({ REJECT_UNSERVED: 'true' });
    try {
      const r = await strict.json('POST', '/api/v1/jobs', llmJob('x'));
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('unserved');
      const n = await strict.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs');
      expect(n.rows[0]!.n).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it('PUT limit, pause with reason and who, GET /queues, resume', async () => {
    for (let i = 0; i < 4; i++)
      await api.json(
        'POST',
        '/api/v1/jobs',
        llmJob(`t${i}`, { task_type: 'transcribe', model_profile: 'whisperx' }),
      );
    let q = await api.json('GET', '/api/v1/queues');
    expect(q.body.queues.find((x: { name: string }) => x.name === 'whisperx')).toMatchObject({
      scope: 'model_profile',
      state: 'active',
      limit: 2,
      limit_source: 'config',
      backlog: 4,
      running: 0,
    });
    expect((await api.json('PUT', '/api/v1/queues/whisperx', { limit: 1 })).status).toBe(200);
    const c1 = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w', limit: 4 });
    expect(c1.body.jobs).toHaveLength(1);

    const p = await api.json('POST', '/api/v1/queues/pause', {
      model_profile: 'whisperx',
      reason: 'swap to voxtral',
      by: 'sre-anna',
    });
    expect(p.status).toBe(200);
    q = await api.json('GET', '/api/v1/queues');
    expect(q.body.queues.find((x: { name: string }) => x.name === 'whisperx')).toMatchObject({
      state: 'paused',
      paused: { reason: 'swap to voxtral', by: 'sre-anna', drain: true },
      limit: 1,
      limit_source: 'runtime',
      backlog: 3,
      running: 1,
    });
    expect((await api.json('PUT', '/api/v1/queues/whisperx', { limit: null })).body.max_running).toBeNull();
    expect((await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w', limit: 4 })).body.jobs).toEqual(
      [],
    );
    expect((await api.json('POST', '/api/v1/queues/resume', { model_profile: 'whisperx' })).status).toBe(200);
    // Back to the configured limit of 2: one more beside the one running.
    expect(
      (await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w', limit: 4 })).body.jobs,
    ).toHaveLength(1);
  });

  it('refuses bad control requests with 4xx in the envelope', async () => {
    const both = await api.json('POST', '/api/v1/queues/pause', { model_profile: 'a', task_type: 'b' });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('validation_error');
    expect((await api.json('POST', '/api/v1/queues/pause', {})).status).toBe(400);
    expect((await api.json('PUT', '/api/v1/queues/whisperx', { limit: -1 })).status).toBe(400);
    expect((await api.json('PUT', '/api/v1/queues/whisperx', { limit: 'x' })).status).toBe(400);
    expect((await api.json('POST', '/api/v1/queues/resume', { model_profile: 'never' })).status).toBe(404);
  });
});
