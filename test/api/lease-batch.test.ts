// The batch surface for external workers (issue 14): POST /api/v1/jobs/complete, /fail,
// /heartbeat with many items, and claim settling `complete`/`fail` first in the same
// transaction. HTTP in, per-item outcomes out, rows in PostgreSQL: fencing per item as the
// single routes fence, their replay rules, mixed outcomes, limits, the error envelope.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Queryable } from '../../lib/db/port.ts';
import * as R from '../../lib/http/responses.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ MAX_BODY_BYTES: '1048576' });
});
afterAll(async () => api?.close());
beforeEach(async () => {
  await api.t.db.query('DELETE FROM ai_jobs');
  await api.t.db.query('DELETE FROM ai_queues');
});

type Leased = { id: string; lease_token: string };

async function enqueue(n: number, over: Record<string, unknown> = {}): Promise<string[]> {
  const jobs = Array.from({ length: n }, (_, i) => ({ owner_ref: `r/${i}`, priority: n - i }));
  const r = await api.json('POST', '/api/v1/jobs/batch', {
    defaults: { owner_service: 's', task_type: 't', model_profile: 'm', input: { user: 'hi' }, ...over },
    jobs,
  });
  expect(r.status).toBe(200);
  return r.body.results.map((x: { job: { id: string } }) => x.job.id);
}

async function claim(n: number, worker = 'w'): Promise<Leased[]> {
  const r = await api.json('POST', '/api/v1/jobs/claim', { worker_id: worker, limit: n });
  expect(r.status).toBe(200);
  return r.body.jobs;
}

const row = async (id: string) =>
  (await api.t.db.query<Record<string, any>>('SELECT * FROM ai_jobs WHERE id = $1', [id])).rows[0]!;
const post = (path: string, body: unknown) => api.json('POST', path, body);
const parsed = (body: unknown) => R.settleResult.parse(body);

describe('POST /api/v1/jobs/complete', () => {
  it('completes each item under its own fence: a stale item is lease_lost, the others complete', async () => {
    await enqueue(3);
    const [a, b, c] = (await claim(3)) as [Leased, Leased, Leased];
    // b's lease is revoked by a retry, then b is claimed again by another worker.
    expect((await post(`/api/v1/jobs/${b.id}/retry`, undefined)).status).toBe(200);
    const [b2] = (await claim(1, 'other')) as [Leased];
    expect(b2.id).toBe(b.id);
    const missing = crypto.randomUUID();
    const r = await post('/api/v1/jobs/complete', {
      jobs: [
        { id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { n: 'a' } },
        { id: b.id, worker_id: 'w', lease_token: b.lease_token, result: { n: 'b' } },
        { id: missing, worker_id: 'w', lease_token: crypto.randomUUID(), result: { n: 'x' } },
        { id: c.id, worker_id: 'w', lease_token: c.lease_token, result: 'not an object' },
        { id: c.id, worker_id: 'w', lease_token: c.lease_token, result: { n: 'c' } },
      ],
    });
    expect(r.status).toBe(200);
    const out = parsed(r.body).results;
    expect(out.map((x) => [x.index, x.id, x.outcome])).toEqual([
      [0, a.id, 'ok'],
      [1, b.id, 'lease_lost'],
      [2, missing, 'not_found'],
      [3, c.id, 'validation_error'],
      [4, c.id, 'ok'],
    ]);
    expect(out[0]).toMatchObject({ job: { status: 'completed', result: { n: 'a' } } });
    expect(out[1]).toMatchObject({ error: { code: 'lease_lost', details: { status: 'running' } } });
    expect(out[2]).toMatchObject({ error: { code: 'not_found' } });
    expect(out[3]).toMatchObject({
      error: { code: 'validation_error', details: { issues: [expect.objectContaining({ path: 'result' })] } },
    });
    expect(await row(a.id)).toMatchObject({ status: 'completed', result: { n: 'a' } });
    // The stale holder overwrote nothing: b still runs under the other worker's lease.
    expect(await row(b.id)).toMatchObject({
      status: 'running',
      worker_id: 'other',
      lease_token: b2.lease_token,
    });
    expect(await row(c.id)).toMatchObject({ status: 'completed', result: { n: 'c' } });
  });

  it('answers the holder repeating its complete with the job, writing nothing; anyone else is refused', async () => {
    await enqueue(2);
    const [a, b] = (await claim(2)) as [Leased, Leased];
    const items = [
      { id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { v: 1 } },
      { id: b.id, worker_id: 'w', lease_token: b.lease_token, result: { v: 2 } },
    ];
    const first = parsed((await post('/api/v1/jobs/complete', { jobs: items })).body).results;
    const before = await row(a.id);
    // The answer was lost; the worker repeats the same request (even with another result).
    const again = await post('/api/v1/jobs/complete', {
      jobs: [{ ...items[0], result: { v: 'other' } }, items[1]],
    });
    const second = parsed(again.body).results;
    expect(second.map((x) => x.outcome)).toEqual(['ok', 'ok']);
    expect(second).toEqual(first);
    expect(await row(a.id)).toEqual(before);
    // The same token under another worker id, or another token, is not the holder.
    const r = await post('/api/v1/jobs/complete', {
      jobs: [
        { id: a.id, worker_id: 'intruder', lease_token: a.lease_token, result: {} },
        { id: b.id, worker_id: 'w', lease_token: crypto.randomUUID(), result: {} },
      ],
    });
    expect(parsed(r.body).results).toMatchObject([
      { outcome: 'lease_lost', error: { details: { status: 'completed' } } },
      { outcome: 'lease_lost', error: { details: { status: 'completed' } } },
    ]);
  });

  it('refuses a job id given twice in one request at its later index', async () => {
    await enqueue(1);
    const [a] = (await claim(1)) as [Leased];
    const item = { id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { first: true } };
    const r = await post('/api/v1/jobs/complete', {
      jobs: [item, { ...item, id: a.id.toUpperCase(), result: { first: false } }],
    });
    expect(parsed(r.body).results).toMatchObject([
      { index: 0, outcome: 'ok', job: { result: { first: true } } },
      { index: 1, outcome: 'validation_error', error: { details: { issues: [{ path: 'id' }] } } },
    ]);
    expect((await row(a.id)).result).toEqual({ first: true });
  });

  it('counts completions in the metrics once, never a replay', async () => {
    await enqueue(2);
    const [a, b] = (await claim(2)) as [Leased, Leased];
    const body = {
      jobs: [a, b].map((x) => ({ id: x.id, worker_id: 'w', lease_token: x.lease_token, result: {} })),
    };
    const completed = async () => {
      const text = await (await api.call('GET', '/metrics')).text();
      const line = text.split('\n').find((l) => l.startsWith('ai_jobs_completed_total{'));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await completed();
    await post('/api/v1/jobs/complete', body);
    const once = await completed();
    await post('/api/v1/jobs/complete', body);
    expect(once - before).toBe(2);
    expect(await completed()).toBe(once);
  });
});

describe('POST /api/v1/jobs/fail', () => {
  it('retryable → pending with backoff, final → failed, stale → lease_lost; replays answer ok', async () => {
    await enqueue(3);
    const [a, b, c] = (await claim(3)) as [Leased, Leased, Leased];
    expect((await post('/api/v1/jobs/cancel', { ids: [c.id] })).status).toBe(200);
    const items = [
      { id: a.id, worker_id: 'w', lease_token: a.lease_token, category: 'rate_limited', retry_after: 60 },
      { id: b.id, worker_id: 'w', lease_token: b.lease_token, category: 'unsupported', message: 'no' },
      { id: c.id, worker_id: 'w', lease_token: c.lease_token, category: 'timeout' },
      { id: a.id, worker_id: 'w', lease_token: a.lease_token, category: 'nonsense' },
    ];
    const r = await post('/api/v1/jobs/fail', { jobs: items });
    expect(r.status).toBe(200);
    const out = parsed(r.body).results;
    expect(out.map((x) => x.outcome)).toEqual(['ok', 'ok', 'lease_lost', 'validation_error']);
    expect(out[2]).toMatchObject({ error: { details: { status: 'cancelled' } } });
    const ra = await row(a.id);
    expect(ra).toMatchObject({ status: 'pending', error_category: 'rate_limited', attempts: 1 });
    expect(ra.run_after.getTime() - Date.now()).toBeGreaterThan(55_000);
    expect(await row(b.id)).toMatchObject({
      status: 'failed',
      error_category: 'unsupported',
      error_message: 'no',
    });

    // The holder repeating its fail gets ok and nothing is written again; another
    // category is not the same call (failJob's rule) and is refused.
    const before = await row(a.id);
    const again = parsed((await post('/api/v1/jobs/fail', { jobs: items.slice(0, 2) })).body).results;
    expect(again.map((x) => x.outcome)).toEqual(['ok', 'ok']);
    expect(await row(a.id)).toEqual(before);
    const other = await post('/api/v1/jobs/fail', { jobs: [{ ...items[0], category: 'unsupported' }] });
    expect(parsed(other.body).results[0]).toMatchObject({
      outcome: 'lease_lost',
      error: { details: { status: 'pending' } },
    });
  });

  it('fails for good at max_attempts', async () => {
    await enqueue(1, { max_attempts: 1 });
    const [a] = (await claim(1)) as [Leased];
    const r = await post('/api/v1/jobs/fail', {
      jobs: [{ id: a.id, worker_id: 'w', lease_token: a.lease_token, category: 'rate_limited' }],
    });
    expect(parsed(r.body).results[0]).toMatchObject({ outcome: 'ok', job: { status: 'failed' } });
    expect((await row(a.id)).finished_at).not.toBeNull();
  });
});

describe('POST /api/v1/jobs/heartbeat', () => {
  it('extends each held lease; a stale one is lease_lost; a paused queue releases with reason paused', async () => {
    await enqueue(2);
    await enqueue(1, { model_profile: 'paused-model' });
    const leased = await claim(3);
    const profiles = await Promise.all(leased.map(async (x) => (await row(x.id)).model_profile));
    const pausedJob = leased[profiles.indexOf('paused-model')]!;
    const others = leased.filter((x) => x.id !== pausedJob.id) as [Leased, Leased];
    expect((await post('/api/v1/queues/pause', { model_profile: 'paused-model', drain: false })).status).toBe(
      200,
    );
    const before = (await row(others[0].id)).lease_expires_at.getTime();
    const r = await post('/api/v1/jobs/heartbeat', {
      jobs: [
        { id: others[0].id, worker_id: 'w', lease_token: others[0].lease_token, lease_timeout: '2h' },
        { id: others[1].id, worker_id: 'w', lease_token: crypto.randomUUID() },
        { id: pausedJob.id, worker_id: 'w', lease_token: pausedJob.lease_token },
        { id: crypto.randomUUID(), worker_id: 'w', lease_token: crypto.randomUUID() },
        { id: 'nope', worker_id: 'w', lease_token: others[0].lease_token },
      ],
    });
    expect(r.status).toBe(200);
    const out = parsed(r.body).results;
    expect(out.map((x) => x.outcome)).toEqual([
      'ok',
      'lease_lost',
      'lease_lost',
      'not_found',
      'validation_error',
    ]);
    expect(out[1]).toMatchObject({ error: { details: { status: 'running' } } });
    expect(out[2]).toMatchObject({ error: { details: { status: 'pending', reason: 'paused' } } });
    expect(out[4]).toMatchObject({ id: 'nope' });
    const after = (await row(others[0].id)).lease_expires_at.getTime();
    expect(after - before).toBeGreaterThan(3_000_000);
    expect(after - Date.now()).toBeGreaterThan(7_000_000);
    expect(await row(pausedJob.id)).toMatchObject({ status: 'pending', attempts: 0 });
  });
});

describe('limits and the error envelope', () => {
  it('refuses a body that is not 1..1000 items, as the envelope, writing nothing', async () => {
    await enqueue(1);
    const [a] = (await claim(1)) as [Leased];
    const item = { id: a.id, worker_id: 'w', lease_token: a.lease_token, result: {} };
    for (const path of ['/api/v1/jobs/complete', '/api/v1/jobs/fail', '/api/v1/jobs/heartbeat']) {
      for (const body of [
        { jobs: [] },
        { jobs: Array.from({ length: 1001 }, () => item) },
        { jobs: item },
        { jobs: [item], extra: 1 },
        [item],
        '{"jobs": [',
      ]) {
        const r = await post(path, body);
        expect(r.status, `${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(400);
        expect(r.body.error).toMatchObject({
          code: expect.stringMatching(/^(validation_error|invalid_json)$/),
        });
        expect(typeof r.body.error.message).toBe('string');
        expect(R.errorSchema.safeParse(r.body).success).toBe(true);
      }
    }
    expect(await row(a.id)).toMatchObject({ status: 'running' });
  });

  it('takes 1,000 items in one request', async () => {
    const ids = await enqueue(1000);
    const leased = await claim(1000);
    expect(leased).toHaveLength(1000);
    const r = await post('/api/v1/jobs/complete', {
      jobs: leased.map((x, i) => ({
        id: x.id,
        worker_id: 'w',
        lease_token: i === 500 ? crypto.randomUUID() : x.lease_token,
        result: { i },
      })),
    });
    const out = parsed(r.body).results;
    expect(out).toHaveLength(1000);
    expect(out.filter((x) => x.outcome === 'ok')).toHaveLength(999);
    expect(out[500]).toMatchObject({ outcome: 'lease_lost', id: leased[500]!.id });
    const n = await api.t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'completed' AND id = ANY($1::uuid[])`,
      [ids],
    );
    expect(n.rows[0]!.n).toBe(999);
  });
});

describe('POST /api/v1/jobs/claim with complete and fail', () => {
  it('settles first, then claims the next jobs, in one request', async () => {
    await enqueue(5);
    const [a, b, c] = (await claim(3)) as [Leased, Leased, Leased];
    const r = await post('/api/v1/jobs/claim', {
      worker_id: 'w',
      limit: 2,
      complete: [
        { id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { done: 1 } },
        { id: c.id, worker_id: 'w', lease_token: crypto.randomUUID(), result: { done: 3 } },
      ],
      fail: [
        { id: b.id, worker_id: 'w', lease_token: b.lease_token, category: 'unsupported' },
        { id: a.id, worker_id: 'w', lease_token: a.lease_token, category: 'unsupported' },
      ],
    });
    expect(r.status).toBe(200);
    const body = R.claimResult.parse(r.body);
    expect(body.complete!.map((x) => x.outcome)).toEqual(['ok', 'lease_lost']);
    // a is in both arrays: refused where it reappears, settled once.
    expect(body.fail!.map((x) => x.outcome)).toEqual(['ok', 'validation_error']);
    expect(body.jobs).toHaveLength(2);
    expect(body.jobs.map((j) => j.id)).not.toContain(a.id);
    expect(await row(a.id)).toMatchObject({ status: 'completed', result: { done: 1 } });
    expect(await row(b.id)).toMatchObject({ status: 'failed' });
    expect(await row(c.id)).toMatchObject({ status: 'running', lease_token: c.lease_token });
    for (const j of body.jobs) expect(await row(j.id)).toMatchObject({ status: 'running', worker_id: 'w' });
  });

  it('frees the settled jobs’ slots for the claim in the same transaction (a limit of 2)', async () => {
    await enqueue(4);
    expect((await api.json('PUT', '/api/v1/queues/m', { limit: 2 })).status).toBe(200);
    const [a, b] = (await claim(4)) as [Leased, Leased];
    expect(await claim(4)).toHaveLength(0);
    const r = await post('/api/v1/jobs/claim', {
      worker_id: 'w',
      limit: 4,
      complete: [a, b].map((x) => ({ id: x.id, worker_id: 'w', lease_token: x.lease_token, result: {} })),
    });
    expect(R.claimResult.parse(r.body).jobs).toHaveLength(2);
  });

  it('settles and claims in one transaction: a claim that fails leaves the settled jobs as they were', async () => {
    await enqueue(3);
    const [a] = (await claim(1)) as [Leased];
    // The database fails the claim statement (the one that takes rows FOR UPDATE SKIP
    // LOCKED) after the completes ran in the same transaction.
    const real = api.deps.db;
    api.deps.db = Object.assign(Object.create(real), {
      transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
        real.transaction((tx) =>
          fn({
            exec: (sql: string) => tx.exec(sql),
            query: (text: string, params?: readonly unknown[]) => {
              if (/SKIP LOCKED/.test(text)) return Promise.reject(new Error('claim failed'));
              return tx.query(text, params);
            },
          } as Queryable),
        ),
    });
    try {
      const r = await post('/api/v1/jobs/claim', {
        worker_id: 'w',
        limit: 2,
        complete: [{ id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { x: 1 } }],
      });
      expect(r.status).toBe(500);
      expect(r.body.error.code).toBe('internal');
    } finally {
      api.deps.db = real;
    }
    expect(await row(a.id)).toMatchObject({ status: 'running', result: null, lease_token: a.lease_token });
    // Repeating the request once the database answers settles and claims as one.
    const again = await post('/api/v1/jobs/claim', {
      worker_id: 'w',
      limit: 2,
      complete: [{ id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { x: 1 } }],
    });
    expect(R.claimResult.parse(again.body).complete![0]!.outcome).toBe('ok');
    expect(again.body.jobs).toHaveLength(2);
  });

  it('answers without complete/fail exactly as before, and refuses a bad claim before settling anything', async () => {
    await enqueue(2);
    const [a] = (await claim(1)) as [Leased];
    const plain = await post('/api/v1/jobs/claim', { worker_id: 'w', limit: 1 });
    expect(Object.keys(plain.body)).toEqual(['jobs']);
    const bad = await post('/api/v1/jobs/claim', {
      worker_id: 'w',
      limit: 0,
      complete: [{ id: a.id, worker_id: 'w', lease_token: a.lease_token, result: {} }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_error');
    expect(await row(a.id)).toMatchObject({ status: 'running' });
    const tooMany = await post('/api/v1/jobs/claim', {
      worker_id: 'w',
      fail: Array.from({ length: 1001 }, () => ({})),
    });
    expect(tooMany.status).toBe(400);
  });
});

describe('"return": "minimal"', () => {
  // The same request again in full: the ok items are the holder's replays (ok with the
  // job), every refusal is decided as before — so minimal must be full without the jobs.
  const withoutJobs = (rs: R.SettleItemResult[]) =>
    rs.map((x) => {
      if (x.outcome !== 'ok') return x;
      const { job: _, ...rest } = x;
      return rest;
    });

  it('POST /jobs/complete answers outcomes without jobs; fencing, replays and errors unchanged', async () => {
    await enqueue(4);
    const [a, b, c, d] = (await claim(4)) as [Leased, Leased, Leased, Leased];
    expect((await post('/api/v1/jobs/cancel', { ids: [c.id] })).status).toBe(200);
    const jobs = [
      { id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { n: 'a' } },
      { id: d.id, worker_id: 'w', lease_token: crypto.randomUUID(), result: {} },
      { id: c.id, worker_id: 'w', lease_token: c.lease_token, result: {} },
      { id: crypto.randomUUID(), worker_id: 'w', lease_token: crypto.randomUUID(), result: {} },
      { id: a.id.toUpperCase(), worker_id: 'w', lease_token: a.lease_token, result: {} },
      { id: b.id, worker_id: 'w', lease_token: b.lease_token, result: [] },
      { id: b.id, worker_id: 'w', lease_token: b.lease_token, result: { n: 'b' } },
    ];
    const r = await post('/api/v1/jobs/complete', { jobs, return: 'minimal' });
    expect(r.status).toBe(200);
    const out = parsed(r.body).results;
    expect(out[0]).toEqual({ index: 0, id: a.id, outcome: 'ok' });
    expect(out[6]).toEqual({ index: 6, id: b.id, outcome: 'ok' });
    expect(out.map((x) => x.outcome)).toEqual([
      'ok',
      'lease_lost',
      'lease_lost',
      'not_found',
      'validation_error',
      'validation_error',
      'ok',
    ]);
    expect(out[2]).toMatchObject({ error: { details: { status: 'cancelled' } } });
    expect(await row(a.id)).toMatchObject({ status: 'completed', result: { n: 'a' } });
    expect(await row(b.id)).toMatchObject({ status: 'completed', result: { n: 'b' } });
    const before = await row(a.id);
    const full = await post('/api/v1/jobs/complete', { jobs, return: 'full' });
    const fullOut = parsed(full.body).results;
    expect(fullOut[0]).toMatchObject({ outcome: 'ok', job: { id: a.id, status: 'completed' } });
    expect(withoutJobs(fullOut)).toEqual(out);
    // The holder repeating in minimal gets ok again; nothing is written twice.
    const again = await post('/api/v1/jobs/complete', { jobs, return: 'minimal' });
    expect(again.body).toEqual(r.body);
    expect(await row(a.id)).toEqual(before);
  });

  it('counts each completion in the metrics once, as the full answer does', async () => {
    await enqueue(2);
    const [a, b] = (await claim(2)) as [Leased, Leased];
    const body = {
      jobs: [a, b].map((x) => ({ id: x.id, worker_id: 'w', lease_token: x.lease_token, result: {} })),
      return: 'minimal',
    };
    const counted = async () => {
      const text = await (await api.call('GET', '/metrics')).text();
      const sum = (name: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(`${name}{`) && l.includes('model_profile="m"'))
          .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
      return { completed: sum('ai_jobs_completed_total'), duration: sum('ai_job_duration_seconds_count') };
    };
    const before = await counted();
    await post('/api/v1/jobs/complete', body);
    const once = await counted();
    await post('/api/v1/jobs/complete', body);
    expect(once.completed - before.completed).toBe(2);
    expect(await counted()).toEqual(once);
  });

  it('counts usage per calling service over a batch, in either shape', async () => {
    const prompt = async (owner: string) => {
      const text = await (await api.call('GET', '/metrics')).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('ai_usage_prompt_tokens_total{') && l.includes(`owner_service="${owner}"`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    await enqueue(2, { owner_service: 'usage-a' });
    await enqueue(2, { owner_service: 'usage-b' });
    const leased = await claim(4);
    const owners = await Promise.all(leased.map(async (x) => (await row(x.id)).owner_service as string));
    const before = { a: await prompt('usage-a'), b: await prompt('usage-b') };
    const item = (x: Leased, k: number) => ({
      id: x.id,
      worker_id: 'w',
      lease_token: x.lease_token,
      result: { usage: { prompt_tokens: 10 ** k } },
    });
    await post('/api/v1/jobs/complete', {
      jobs: leased.slice(0, 3).map((x, k) => item(x, k)),
      return: 'minimal',
    });
    await post('/api/v1/jobs/complete', { jobs: leased.slice(3).map((x, k) => item(x, k + 3)) });
    const want = { 'usage-a': 0, 'usage-b': 0 } as Record<string, number>;
    owners.forEach((o, k) => {
      want[o]! += 10 ** k;
    });
    expect((await prompt('usage-a')) - before.a).toBe(want['usage-a']);
    expect((await prompt('usage-b')) - before.b).toBe(want['usage-b']);
  });

  it('POST /jobs/fail and /jobs/heartbeat: the same outcomes, without jobs', async () => {
    await enqueue(3, { max_attempts: 2 });
    const [a, b, c] = (await claim(3)) as [Leased, Leased, Leased];
    const fail = [
      { id: a.id, worker_id: 'w', lease_token: a.lease_token, category: 'rate_limited', retry_after: 60 },
      { id: b.id, worker_id: 'w', lease_token: b.lease_token, category: 'unsupported' },
      { id: c.id, worker_id: 'other', lease_token: c.lease_token, category: 'timeout' },
      { id: c.id, worker_id: 'w', lease_token: c.lease_token, category: 'nonsense' },
    ];
    const r = await post('/api/v1/jobs/fail', { jobs: fail, return: 'minimal' });
    const out = parsed(r.body).results;
    expect(out.slice(0, 2)).toEqual([
      { index: 0, id: a.id, outcome: 'ok' },
      { index: 1, id: b.id, outcome: 'ok' },
    ]);
    expect(out.map((x) => x.outcome)).toEqual(['ok', 'ok', 'lease_lost', 'validation_error']);
    expect(await row(a.id)).toMatchObject({ status: 'pending', error_category: 'rate_limited' });
    expect(await row(b.id)).toMatchObject({ status: 'failed', error_category: 'unsupported' });
    // Replays (the holder repeating) are ok in minimal too, and equal to full without jobs.
    const full = parsed((await post('/api/v1/jobs/fail', { jobs: fail })).body).results;
    expect(full[1]).toMatchObject({ job: { status: 'failed' } });
    expect(withoutJobs(full)).toEqual(out);
    expect(parsed((await post('/api/v1/jobs/fail', { jobs: fail, return: 'minimal' })).body).results).toEqual(
      out,
    );

    const hb = [
      { id: c.id, worker_id: 'w', lease_token: c.lease_token, lease_timeout: '2h' },
      { id: a.id, worker_id: 'w', lease_token: a.lease_token },
      { id: crypto.randomUUID(), worker_id: 'w', lease_token: crypto.randomUUID() },
    ];
    const beat = parsed((await post('/api/v1/jobs/heartbeat', { jobs: hb, return: 'minimal' })).body).results;
    expect(beat[0]).toEqual({ index: 0, id: c.id, outcome: 'ok' });
    expect(beat.map((x) => x.outcome)).toEqual(['ok', 'lease_lost', 'not_found']);
    expect((await row(c.id)).lease_expires_at.getTime() - Date.now()).toBeGreaterThan(7_000_000);
    const hbFull = parsed((await post('/api/v1/jobs/heartbeat', { jobs: hb })).body).results;
    expect(hbFull[0]).toMatchObject({ job: { id: c.id, status: 'running' } });
    expect(withoutJobs(hbFull)).toEqual(beat);
  });

  it('the claim settles with outcomes only and still answers the claimed jobs whole', async () => {
    await enqueue(4);
    const [a, b] = (await claim(2)) as [Leased, Leased];
    const r = await post('/api/v1/jobs/claim', {
      worker_id: 'w',
      limit: 2,
      return: 'minimal',
      complete: [{ id: a.id, worker_id: 'w', lease_token: a.lease_token, result: { x: 1 } }],
      fail: [
        { id: b.id, worker_id: 'w', lease_token: b.lease_token, category: 'unsupported' },
        { id: a.id, worker_id: 'w', lease_token: a.lease_token, category: 'unsupported' },
      ],
    });
    expect(r.status).toBe(200);
    const body = R.claimResult.parse(r.body);
    expect(body.complete).toEqual([{ index: 0, id: a.id, outcome: 'ok' }]);
    expect(body.fail![0]).toEqual({ index: 0, id: b.id, outcome: 'ok' });
    expect(body.fail![1]).toMatchObject({ outcome: 'validation_error', error: { code: 'validation_error' } });
    // The claimed jobs are the contract: whole, with their lease tokens, as a plain claim's.
    expect(body.jobs).toHaveLength(2);
    expect(Object.keys(r.body.jobs[0])).toEqual(Object.keys(a));
    expect(r.body.jobs[0].lease_token).toEqual(expect.any(String));
    expect(await row(a.id)).toMatchObject({ status: 'completed', result: { x: 1 } });
    expect(await row(b.id)).toMatchObject({ status: 'failed' });
  });

  it('refuses any other value of "return" as the envelope, settling nothing', async () => {
    await enqueue(1);
    const [a] = (await claim(1)) as [Leased];
    const item = { id: a.id, worker_id: 'w', lease_token: a.lease_token, result: {} };
    for (const [path, body] of [
      ['/api/v1/jobs/complete', { jobs: [item], return: 'none' }],
      ['/api/v1/jobs/heartbeat', { jobs: [item], return: null }],
      ['/api/v1/jobs/claim', { worker_id: 'w', complete: [item], return: 'MINIMAL' }],
    ] as const) {
      const r = await post(path, body);
      expect(r.status).toBe(400);
      expect(R.errorSchema.safeParse(r.body).success).toBe(true);
      expect(r.body.error).toMatchObject({
        code: 'validation_error',
        details: { issues: [expect.objectContaining({ path: 'return' })] },
      });
    }
    expect(await row(a.id)).toMatchObject({ status: 'running' });
  });
});
