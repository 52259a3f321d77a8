// HTTP in, JSON out, rows in PostgreSQL: every job route's success and failure paths.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../lib/db/migrations.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

const job = (over: Record<string, unknown> = {}) => ({
  owner_service: 'telephony',
  owner_ref: 'beeline/1',
  task_type: 'llm_chat',
  model_profile: 'qwen2.5-14b',
  input: { user: 'hi' },
  ...over,
});

let api: TestApi;
const count = async (where = 'TRUE') =>
  (await api.t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_jobs WHERE ${where}`)).rows[0]!.n;

/**
 * Swaps the API's clock for a manual one whose sleep advances it at once, and takes the
 * LISTEN waiter away so a long-poll waits on that clock (the re-reading path).
 */
function withManualClock() {
  const saved = { clock: api.deps.clock, waitForJob: api.deps.waitForJob };
  let now = 1_000_000;
  api.deps.clock = {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
  api.deps.waitForJob = undefined;
  return {
    elapsed: () => now - 1_000_000,
    restore: () => Object.assign(api.deps, saved),
  };
}

/** Resolves once the next long-poll has subscribed to its job's finish notification. */
function onceSubscribed(): Promise<void> {
  const wait = api.deps.waitForJob;
  if (!wait) return Promise.resolve(); // no LISTEN on this driver: the poll re-reads
  return new Promise((resolve) => {
    api.deps.waitForJob = async (...args) => {
      const sub = await wait(...args);
      api.deps.waitForJob = wait;
      resolve();
      return sub;
    };
  });
}

beforeAll(async () => {
  api = await startTestApi({ MAX_BODY_BYTES: '65536' });
});
afterAll(async () => api?.close());
beforeEach(async () => {
  await api.t.db.query('DELETE FROM ai_jobs');
});

describe('create and read', () => {
  it('201 on create, 200 on idempotent repeat, 409 on a conflicting repeat', async () => {
    const a = await api.json('POST', '/api/v1/jobs', job({ idempotency_key: 'k' }));
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ status: 'pending', owner_ref: 'beeline/1', attempts: 0 });
    expect(a.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(a.body).not.toHaveProperty('lease_token');
    const b = await api.json('POST', '/api/v1/jobs', job({ idempotency_key: 'k' }));
    expect(b).toMatchObject({ status: 200, body: { id: a.body.id } });
    const c = await api.json('POST', '/api/v1/jobs', job({ idempotency_key: 'k', input: { user: 'other' } }));
    expect(c.status).toBe(409);
    expect(c.body.error).toMatchObject({ code: 'idempotency_conflict', details: { existing_id: a.body.id } });
    expect(await count()).toBe(1);
  });

  it('validation errors name the failing fields and write nothing', async () => {
    const r = await api.json('POST', '/api/v1/jobs', { ...job(), input: 'text', priority: -5000, extra: 1 });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_error');
    const paths = r.body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['input', 'priority', '']));
    expect(JSON.stringify(r.body)).toContain('unknown field: extra');
    const nul = await api.json('POST', '/api/v1/jobs', job({ input: { user: 'a\u0000b' } }));
    expect(nul.status).toBe(400);
    const big = await api.json('POST', '/api/v1/jobs', job({ input: { blob: 'x'.repeat(70_000) } }));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    expect(await count()).toBe(0);
  });

  it('malformed JSON, empty body, unknown route, wrong method: JSON errors', async () => {
    expect((await api.json('POST', '/api/v1/jobs', '{"owner_service":')).body.error.code).toBe(
      'invalid_json',
    );
    expect((await api.json('POST', '/api/v1/jobs', '')).body.error.code).toBe('validation_error');
    const nf = await api.json('GET', '/api/v1/nope');
    expect(nf).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const res = await api.call('DELETE', '/api/v1/jobs');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('POST');
    expect((await res.json()).error.code).toBe('method_not_allowed');
  });

  it('GET /jobs/{id}: 200, 404, 400 for a malformed id', async () => {
    const a = await api.json('POST', '/api/v1/jobs', job());
    expect((await api.json('GET', `/api/v1/jobs/${a.body.id}`)).body.id).toBe(a.body.id);
    expect((await api.json('GET', `/api/v1/jobs/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await api.json('GET', '/api/v1/jobs/not-a-uuid')).status).toBe(400);
  });

  it('request ids: echoed when sane, generated otherwise', async () => {
    const r1 = await api.call('GET', '/healthz', undefined, { 'x-request-id': 'abc-123' });
    expect(r1.headers.get('x-request-id')).toBe('abc-123');
    const r2 = await api.call('GET', '/healthz', undefined, { 'x-request-id': 'bad id\n' });
    expect(r2.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('list', () => {
  it('filters (repeated and comma-separated), paginates, refuses bad input', async () => {
    for (let i = 0; i < 5; i++) await api.json('POST', '/api/v1/jobs', job({ owner_ref: `r/${i}` }));
    await api.json('POST', '/api/v1/jobs', job({ owner_service: 'monitoring-tg', task_type: 'tg_analysis' }));
    const p1 = await api.json('GET', '/api/v1/jobs?owner_service=telephony&limit=2');
    expect(p1.body.jobs).toHaveLength(2);
    const p2 = await api.json(
      'GET',
      `/api/v1/jobs?owner_service=telephony&limit=2&cursor=${p1.body.next_cursor}`,
    );
    expect(p2.body.jobs[0].id < p1.body.jobs[1].id).toBe(true);
    expect((await api.json('GET', '/api/v1/jobs?task_type=tg_analysis,llm_chat')).body.jobs).toHaveLength(6);
    expect((await api.json('GET', '/api/v1/jobs?status=pending&status=failed')).body.jobs).toHaveLength(6);
    expect((await api.json('GET', '/api/v1/jobs?owner_ref=r%2F3')).body.jobs).toHaveLength(1);
    expect((await api.json('GET', "/api/v1/jobs?owner_ref=x'%20OR%20'1'%3D'1")).body.jobs).toHaveLength(0);
    for (const bad of [
      'status=done',
      'limit=0',
      'limit=-1',
      'limit=501',
      'limit=abc',
      'cursor=zzz',
      'colour=red',
      'created_after=yesterday',
      'ids=1,2',
    ]) {
      const r = await api.json('GET', `/api/v1/jobs?${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code, bad).toBe('validation_error');
    }
  });
});

describe('batch', () => {
  it('mixed outcomes in order with shared defaults', async () => {
    await api.json(
      'POST',
      '/api/v1/jobs',
      job({
        owner_service: 'monitoring-tg',
        idempotency_key: 'tg:1',
        owner_ref: 'c/1',
        task_type: 'tg_analysis',
      }),
    );
    const r = await api.json('POST', '/api/v1/jobs/batch', {
      defaults: { owner_service: 'monitoring-tg', task_type: 'tg_analysis', model_profile: 'qwen2.5-14b' },
      jobs: [
        { owner_ref: 'c/1', input: { user: 'hi' }, idempotency_key: 'tg:1' },
        { owner_ref: 'c/2', input: { user: 'two' }, idempotency_key: 'tg:2', priority: 3 },
        { owner_ref: 'c/3', input: { user: 'three' } },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { outcome: string }) => x.outcome)).toEqual([
      'existing',
      'created',
      'created',
    ]);
    expect(r.body.results[1].job).toMatchObject({ owner_service: 'monitoring-tg', priority: 3 });
    expect(await count()).toBe(3);
  });

  it('any invalid item rejects the whole batch, naming the indexes', async () => {
    const r = await api.json('POST', '/api/v1/jobs/batch', {
      defaults: { owner_service: 'telephony', task_type: 'llm_chat', model_profile: 'm' },
      jobs: [{ owner_ref: 'a', input: {} }, { owner_ref: 'b' }, { owner_ref: 'c', input: {} }, { input: 5 }],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details.items.map((i: { index: number }) => i.index)).toEqual([1, 3]);
    expect(await count()).toBe(0);
    const tooMany = await api.json('POST', '/api/v1/jobs/batch', {
      jobs: Array.from({ length: 1001 }, () => ({})),
    });
    expect(tooMany.status).toBe(400);
  });

  it('"return": "minimal" answers ids and outcomes only; the same rows; bad values refused', async () => {
    const defaults = {
      owner_service: 'monitoring-tg',
      task_type: 'tg_analysis',
      model_profile: 'qwen2.5-14b',
    };
    const jobs = [
      { owner_ref: 'c/1', input: { user: 'one' }, idempotency_key: 'tg:1' },
      { owner_ref: 'c/2', input: { user: 'two' } },
    ];
    const r = await api.json('POST', '/api/v1/jobs/batch', { defaults, jobs, return: 'minimal' });
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual([
      { index: 0, outcome: 'created', id: expect.any(String) },
      { index: 1, outcome: 'created', id: expect.any(String) },
    ]);
    const ids = r.body.results.map((x: { id: string }) => x.id);
    const rows = await api.t.db.query<{ id: string; owner_ref: string }>(
      'SELECT id, owner_ref FROM ai_jobs ORDER BY owner_ref',
    );
    expect(rows.rows).toEqual([
      { id: ids[0], owner_ref: 'c/1' },
      { id: ids[1], owner_ref: 'c/2' },
    ]);
    // A repeat names the existing job by its id; "full" is the default answer's shape.
    const again = await api.json('POST', '/api/v1/jobs/batch', {
      defaults,
      jobs: [jobs[0]],
      return: 'minimal',
    });
    expect(again.body.results).toEqual([{ index: 0, outcome: 'existing', id: ids[0] }]);
    const full = await api.json('POST', '/api/v1/jobs/batch', { defaults, jobs: [jobs[0]], return: 'full' });
    expect(full.body.results).toEqual([
      { index: 0, outcome: 'existing', job: expect.objectContaining({ id: ids[0] }) },
    ]);
    for (const bad of ['lean', null, 1, ['minimal']]) {
      const refused = await api.json('POST', '/api/v1/jobs/batch', { defaults, jobs, return: bad });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('validation_error');
    }
    expect(await count()).toBe(2);
  });

  it('an idempotency conflict rejects the whole batch (409)', async () => {
    await api.json('POST', '/api/v1/jobs', job({ idempotency_key: 'dup' }));
    const r = await api.json('POST', '/api/v1/jobs/batch', {
      jobs: [job({ idempotency_key: 'new' }), job({ idempotency_key: 'dup', input: { other: true } })],
    });
    expect(r.status).toBe(409);
    expect(r.body.error.details.items).toEqual([expect.objectContaining({ index: 1 })]);
    expect(await count()).toBe(1);
  });
});

describe('worker protocol', () => {
  const claim = async (body: Record<string, unknown> = {}) =>
    (await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', ...body })).body.jobs;

  it('claim → heartbeat → complete; a stale complete is 409 lease_lost', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    const [j] = await claim({ limit: 5, lease_timeout: '30s' });
    expect(j).toMatchObject({ status: 'running', worker_id: 'w1', attempts: 1 });
    expect(j.lease_token).toMatch(/^[0-9a-f-]{36}$/);
    const hb = await api.json('POST', `/api/v1/jobs/${j.id}/heartbeat`, {
      worker_id: 'w1',
      lease_token: j.lease_token,
      lease_timeout: '10m',
    });
    expect(hb.status).toBe(200);
    expect(Date.parse(hb.body.lease_expires_at) - Date.parse(hb.body.updated_at)).toBe(600_000);
    const done = await api.json('POST', `/api/v1/jobs/${j.id}/complete`, {
      worker_id: 'w1',
      lease_token: j.lease_token,
      result: { content: 'ok' },
    });
    expect(done).toMatchObject({ status: 200, body: { status: 'completed', result: { content: 'ok' } } });
    const stale = await api.json('POST', `/api/v1/jobs/${j.id}/complete`, {
      worker_id: 'w2',
      lease_token: j.lease_token,
      result: {},
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'lease_lost', details: { status: 'completed' } });
  });

  it('retry revokes the lease: the old holder is refused, the new one completes', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    const [old] = await claim();
    expect((await api.json('POST', `/api/v1/jobs/${old.id}/retry`)).body.status).toBe('pending');
    const [fresh] = await claim({ worker_id: 'w2' });
    const late = await api.json('POST', `/api/v1/jobs/${old.id}/complete`, {
      worker_id: 'w1',
      lease_token: old.lease_token,
      result: { late: 1 },
    });
    expect(late.status).toBe(409);
    await api.json('POST', `/api/v1/jobs/${old.id}/complete`, {
      worker_id: 'w2',
      lease_token: fresh.lease_token,
      result: { fresh: 1 },
    });
    expect((await api.json('GET', `/api/v1/jobs/${old.id}`)).body.result).toEqual({ fresh: 1 });
    expect((await api.json('POST', `/api/v1/jobs/${old.id}/retry`)).status).toBe(409);
  });

  it('fail: retryable goes back to pending after retry_after; final fails', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    const [j] = await claim();
    const f = await api.json('POST', `/api/v1/jobs/${j.id}/fail`, {
      worker_id: 'w1',
      lease_token: j.lease_token,
      category: 'rate_limited',
      message: '429',
      retry_after: 20,
    });
    expect(f.body).toMatchObject({ status: 'pending', error_category: 'rate_limited' });
    expect(Date.parse(f.body.run_after) - Date.parse(f.body.updated_at)).toBeGreaterThanOrEqual(20_000);
    expect(await claim()).toEqual([]);
    await api.t.db.query('UPDATE ai_jobs SET run_after = now()');
    const [j2] = await claim();
    const bad = await api.json('POST', `/api/v1/jobs/${j2.id}/fail`, {
      worker_id: 'w1',
      lease_token: j2.lease_token,
      category: 'exploded',
    });
    expect(bad.status).toBe(400);
    const f2 = await api.json('POST', `/api/v1/jobs/${j2.id}/fail`, {
      worker_id: 'w1',
      lease_token: j2.lease_token,
      category: 'invalid_input',
      message: 'no messages',
    });
    expect(f2.body).toMatchObject({
      status: 'failed',
      error_category: 'invalid_input',
      error_message: 'no messages',
    });
  });

  /** ai_jobs_failed_total for llm_chat/qwen2.5-14b with this category and finality. */
  const failedCount = async (category: string, final: string) => {
    const text = (await api.metrics.render()).body;
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('ai_jobs_failed_total{') &&
          l.includes(`category="${category}"`) &&
          l.includes(`final="${final}"`),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('a repeated fail from the holder gets the same 200 answer (both outcomes); anyone else 409', async () => {
    await api.json('POST', '/api/v1/jobs', job({ max_attempts: 2 }));
    const [j] = await claim();
    const [retrying0, final0] = [
      await failedCount('provider_error', 'false'),
      await failedCount('provider_error', 'true'),
    ];
    const body = { worker_id: 'w1', lease_token: j.lease_token, category: 'provider_error', retry_after: 60 };
    const first = await api.json('POST', `/api/v1/jobs/${j.id}/fail`, body);
    expect(first).toMatchObject({ status: 200, body: { status: 'pending', attempts: 1 } });
    const replay = await api.json('POST', `/api/v1/jobs/${j.id}/fail`, body);
    expect(replay).toEqual(first);
    // Answered, not written again: the failure is counted once.
    expect(await failedCount('provider_error', 'false')).toBe(retrying0 + 1);
    const other = await api.json('POST', `/api/v1/jobs/${j.id}/fail`, { ...body, worker_id: 'w2' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'lease_lost', details: { status: 'pending' } });

    await api.t.db.query('UPDATE ai_jobs SET run_after = now()');
    const [k] = await claim();
    const last = { worker_id: 'w1', lease_token: k.lease_token, category: 'provider_error' };
    const failed = await api.json('POST', `/api/v1/jobs/${k.id}/fail`, last);
    expect(failed).toMatchObject({ status: 200, body: { status: 'failed', attempts: 2 } });
    expect(await api.json('POST', `/api/v1/jobs/${k.id}/fail`, last)).toEqual(failed);
    expect(await failedCount('provider_error', 'true')).toBe(final0 + 1);
    // The first attempt's holder replaying its old fail is refused: the token moved on.
    expect((await api.json('POST', `/api/v1/jobs/${k.id}/fail`, body)).status).toBe(409);
  });

  it('include_cancelled: a job cancelled by mistake goes back to pending, by id and by filter', async () => {
    const a = await api.json('POST', '/api/v1/jobs', job({ idempotency_key: 'oops' }));
    const b = await api.json('POST', '/api/v1/jobs', job({ owner_ref: 'beeline/2' }));
    await api.json('POST', '/api/v1/jobs/cancel', { owner_service: 'telephony' });
    const refused = await api.json('POST', `/api/v1/jobs/${a.body.id}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'invalid_state', details: { status: 'cancelled' } });
    expect(refused.body.error.message).toContain('include_cancelled');
    const back = await api.json('POST', `/api/v1/jobs/${a.body.id}/retry`, { include_cancelled: true });
    expect(back).toMatchObject({ status: 200, body: { status: 'pending', error_category: null } });
    expect((await api.json('POST', '/api/v1/jobs', job({ idempotency_key: 'oops' }))).body).toMatchObject({
      id: a.body.id,
      status: 'pending',
    });
    expect((await api.json('POST', '/api/v1/jobs/retry', { owner_ref: 'beeline/2' })).body.count).toBe(0);
    const byFilter = await api.json('POST', '/api/v1/jobs/retry', {
      owner_ref: 'beeline/2',
      include_cancelled: true,
    });
    expect(byFilter.body).toMatchObject({ count: 1, ids: [b.body.id] });
    expect(
      (await api.json('POST', `/api/v1/jobs/${a.body.id}/retry`, { include_cancelled: 'yes' })).status,
    ).toBe(400);
    // Cancel has no such switch.
    expect(
      (await api.json('POST', '/api/v1/jobs/cancel', { owner_ref: 'beeline/2', include_cancelled: true }))
        .status,
    ).toBe(400);
  });

  it('retry and cancel by filter with dry_run; empty filter refused', async () => {
    for (let i = 0; i < 3; i++) await api.json('POST', '/api/v1/jobs', job({ owner_ref: `c/${i}` }));
    expect((await api.json('POST', '/api/v1/jobs/cancel', {})).status).toBe(400);
    expect((await api.json('POST', '/api/v1/jobs/retry', { dry_run: true })).status).toBe(400);
    const dry = await api.json('POST', '/api/v1/jobs/cancel', { owner_service: 'telephony', dry_run: true });
    expect(dry.body).toMatchObject({ count: 3, dry_run: true });
    expect(await count(`status = 'cancelled'`)).toBe(0);
    const done = await api.json('POST', '/api/v1/jobs/cancel', { owner_ref: 'c/1' });
    expect(done.body).toMatchObject({ count: 1, dry_run: false });
    expect(await count(`status = 'cancelled'`)).toBe(1);
    const [j] = await claim();
    await api.json('POST', `/api/v1/jobs/${j.id}/fail`, {
      worker_id: 'w1',
      lease_token: j.lease_token,
      category: 'auth_error',
    });
    const rdry = await api.json('POST', '/api/v1/jobs/retry', {
      error_category: ['auth_error'],
      dry_run: true,
    });
    expect(rdry.body).toMatchObject({ count: 1, ids: [j.id] });
    expect(
      (await api.json('POST', '/api/v1/jobs/retry', { error_category: ['auth_error'] })).body.count,
    ).toBe(1);
    expect((await api.json('GET', `/api/v1/jobs/${j.id}`)).body.status).toBe('pending');
  });

  it('long-poll returns as soon as the job finishes, and after the wait otherwise', async () => {
    const a = await api.json('POST', '/api/v1/jobs', job());
    // The timed-out poll on the injected clock: the server sleeps exactly the wait, on
    // its clock, and no real time passes.
    const clock = withManualClock();
    const short = await api.json('GET', `/api/v1/jobs/${a.body.id}?wait=300ms`);
    clock.restore();
    expect(short.body.status).toBe('pending');
    expect(clock.elapsed()).toBe(300);

    // The woken poll: complete once the waiter is subscribed (no sleep to "let it start");
    // wait=20s, so only the finish notification can answer it within the test's time.
    const [j] = await claim();
    const subscribed = onceSubscribed();
    const waiting = api.json('GET', `/api/v1/jobs/${a.body.id}?wait=20s`);
    await subscribed;
    await api.json('POST', `/api/v1/jobs/${j.id}/complete`, {
      worker_id: 'w1',
      lease_token: j.lease_token,
      result: { ok: true },
    });
    const r = await waiting;
    expect(r.body.status).toBe('completed');
    expect((await api.json('GET', `/api/v1/jobs/${a.body.id}?wait=61s`)).status).toBe(400);
  });

  it('reap over HTTP requeues expired leases', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    await claim();
    await api.t.db.query(`UPDATE ai_jobs SET lease_expires_at = now() - interval '1 second'`);
    const r = await api.json('POST', '/api/v1/jobs/reap');
    expect(r.body).toMatchObject({ requeued: 1, failed: 0, pruned: 0 });
  });
});

describe('durations: a bare number is seconds, everywhere', () => {
  it('?wait=1 long-polls one second (on the injected clock), not one millisecond', async () => {
    const a = await api.json('POST', '/api/v1/jobs', job());
    const clock = withManualClock();
    const r = await api.json('GET', `/api/v1/jobs/${a.body.id}?wait=1`);
    clock.restore();
    expect(r.body.status).toBe('pending');
    expect(clock.elapsed()).toBe(1000);
  });

  it('lease_timeout: 1800 is a 30-minute lease; "90" is 90 s; under 5 s is a 400', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    await api.json('POST', '/api/v1/jobs', job());
    const c = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', lease_timeout: 1800 });
    expect(c.status).toBe(200);
    const left = Date.parse(c.body.jobs[0].lease_expires_at) - Date.parse(c.body.jobs[0].started_at);
    expect(left).toBe(1_800_000);
    const d = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', lease_timeout: '90' });
    expect(Date.parse(d.body.jobs[0].lease_expires_at) - Date.parse(d.body.jobs[0].started_at)).toBe(90_000);
    for (const short of [4, '4', '4999ms', '1s']) {
      const r = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', lease_timeout: short });
      expect(r.status, String(short)).toBe(400);
      expect(r.body.error.details.issues[0]).toMatchObject({
        path: 'lease_timeout',
        message: expect.stringContaining('between 5s and 1d'),
      });
    }
  });

  it('retry_after as a number or as bare text is seconds', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    const [j] = (await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1' })).body.jobs;
    const f = await api.json('POST', `/api/v1/jobs/${j.id}/fail`, {
      worker_id: 'w1',
      lease_token: j.lease_token,
      category: 'rate_limited',
      retry_after: '600',
    });
    expect(f.status).toBe(200);
    expect(Date.parse(f.body.run_after) - Date.parse(f.body.updated_at)).toBeGreaterThanOrEqual(600_000);
  });
});

describe('stats, probes, docs', () => {
  it('stats reflects the queue; bad window refused', async () => {
    await api.json('POST', '/api/v1/jobs', job());
    const s = await api.json('GET', '/api/v1/stats?window=24h');
    expect(s.body).toMatchObject({ window_ms: 86_400_000, queue: { pending: 1, running: 0 } });
    expect((await api.json('GET', '/api/v1/stats?window=forever')).status).toBe(400);
  });

  it('stats.total_estimate is not 0 before the first ANALYZE', async () => {
    const fresh = await startTestApi();
    try {
      for (let i = 0; i < 3; i++) await fresh.json('POST', '/api/v1/jobs', job());
      expect((await fresh.json('GET', '/api/v1/stats')).body.total_estimate).toBe(3);
    } finally {
      await fresh.close();
    }
  });

  it('healthz and readyz', async () => {
    expect((await api.json('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await api.json('GET', '/readyz')).body).toMatchObject({
      status: 'ready',
      migrations: MIGRATIONS.length,
    });
  });

  it('infra status says configured: false when INFRA_STATUS_URL is unset', async () => {
    expect((await api.json('GET', '/api/v1/infra/status')).body).toEqual({ configured: false });
  });

  it('the OpenAPI document lists every mounted route, and its examples validate', async () => {
    const { ALL_FUNCTIONS } = await import('../../functions/index.ts');
    const doc = (await api.json('GET', '/api/v1/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    // Every API route; the /ops console pages are HTML for a browser session, not API.
    for (const f of ALL_FUNCTIONS.filter((x) => x.access !== 'console')) {
      const p = f.path.replace(/:([a-z_]+)/gi, '{$1}');
      expect(doc.paths[p]?.[f.method.toLowerCase()], `${f.method} ${f.path}`).toBeDefined();
      if (f.example !== undefined) {
        expect(f.body, f.name).toBeDefined();
        const r = f.body!.safeParse(f.example);
        expect(r.success, `${f.name} example`).toBe(true);
      }
    }
    const html = await (await api.call('GET', '/docs')).text();
    expect(html).toContain('/api/v1/jobs/{id}/complete');
  });
});

describe('auth', () => {
  let secured: TestApi;
  beforeAll(async () => {
    secured = await startTestApi({ AI_SERVICE_TOKEN: 'tok-123' });
  });
  afterAll(async () => secured?.close());

  it('requires the bearer token on /api/v1/*, keeps probes open, never echoes the token', async () => {
    const none = await secured.json('GET', '/api/v1/jobs');
    expect(none).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    const wrong = await secured.json('GET', '/api/v1/jobs', undefined, { authorization: 'Bearer tok-124' });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain('tok-12');
    expect(
      (await secured.json('GET', '/api/v1/stats', undefined, { authorization: 'Basic tok-123' })).status,
    ).toBe(401);
    expect(
      (await secured.json('GET', '/api/v1/jobs', undefined, { authorization: 'Bearer tok-123' })).status,
    ).toBe(200);
    expect((await secured.json('GET', '/api/v1/nope')).status).toBe(401);
    expect((await secured.json('GET', '/healthz')).status).toBe(200);
    expect((await secured.json('GET', '/readyz')).status).toBe(200);
  });
});
