// Every route × every kind of token, with the status each must get: the admin
// AI_SERVICE_TOKEN, a caller token for the job's own service, one for another service, a
// worker token, no token and a wrong one. A route added without a rule here fails the
// first test, so no route ships without a decision on who may call it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_FUNCTIONS } from '../../functions/index.ts';
import { startTestApi, type TestApi } from '../support/api.ts';

type Kind = 'admin' | 'own' | 'other' | 'worker' | 'none' | 'wrong';
/** 'ok': neither 401, 403 nor 404 (the call was let through; its own answer may still be a 409). */
type Expect = 'ok' | 401 | 403 | 404;
type Req = { method: string; path: string; body?: unknown };

const ADMIN = 'admin-token-0123456789';
const JOB = {
  owner_service: 'telephony',
  owner_ref: 'b/1',
  task_type: 'llm_chat',
  model_profile: 'm',
  input: {},
};

let api: TestApi;
const tokens: Partial<Record<Kind, string>> = {};
let jobId = '';
let tokenId = '';

const read = { admin: 'ok', own: 'ok', other: 403, worker: 403 } as const;
const byId = { admin: 'ok', own: 'ok', other: 404, worker: 403 } as const;
const write = { admin: 'ok', own: 'ok', other: 403, worker: 403 } as const;
const shared = { admin: 'ok', own: 'ok', other: 'ok', worker: 403 } as const;
const worker = { admin: 'ok', own: 403, other: 403, worker: 'ok' } as const;
const adminOnly = { admin: 'ok', own: 403, other: 403, worker: 403 } as const;

/** name → [request, expectations for the four token holders]; none/wrong are always 401 on /api/v1. */
const RULES: Record<
  string,
  [() => Req, Record<'admin' | 'own' | 'other' | 'worker', Expect>] | 'open' | 'console'
> = {
  healthz: 'open',
  readyz: 'open',
  openapi: 'open',
  docs: 'open',
  metrics: 'open',
  'jobs-create': [() => ({ method: 'POST', path: '/api/v1/jobs', body: JOB }), write],
  'jobs-batch': [
    () => ({ method: 'POST', path: '/api/v1/jobs/batch', body: { defaults: JOB, jobs: [{}] } }),
    write,
  ],
  'jobs-list': [() => ({ method: 'GET', path: '/api/v1/jobs?owner_service=telephony' }), read],
  'jobs-search': [
    () => ({ method: 'POST', path: '/api/v1/jobs/search', body: { owner_service: 'telephony' } }),
    read,
  ],
  'jobs-get': [() => ({ method: 'GET', path: `/api/v1/jobs/${jobId}` }), byId],
  'jobs-webhooks': [() => ({ method: 'GET', path: `/api/v1/jobs/${jobId}/webhooks` }), byId],
  'jobs-retry': [() => ({ method: 'POST', path: `/api/v1/jobs/${jobId}/retry`, body: {} }), byId],
  'jobs-retry-by-filter': [
    () => ({
      method: 'POST',
      path: '/api/v1/jobs/retry',
      body: { owner_service: 'telephony', dry_run: true },
    }),
    write,
  ],
  'jobs-cancel': [
    () => ({
      method: 'POST',
      path: '/api/v1/jobs/cancel',
      body: { owner_service: 'telephony', dry_run: true },
    }),
    write,
  ],
  stats: [() => ({ method: 'GET', path: '/api/v1/stats?owner_service=telephony' }), read],
  usage: [() => ({ method: 'GET', path: '/api/v1/usage?owner_service=telephony' }), read],
  'providers-status': [() => ({ method: 'GET', path: '/api/v1/providers/status' }), shared],
  'infra-status': [() => ({ method: 'GET', path: '/api/v1/infra/status' }), shared],
  'queues-list': [() => ({ method: 'GET', path: '/api/v1/queues' }), shared],
  'workers-list': [() => ({ method: 'GET', path: '/api/v1/workers' }), shared],
  'jobs-claim': [
    () => ({
      method: 'POST',
      path: '/api/v1/jobs/claim',
      body: { worker_id: 'w', limit: 0 + 1, task_types: ['none'] },
    }),
    worker,
  ],
  'jobs-heartbeat': [() => lease('heartbeat'), worker],
  'jobs-complete': [
    () => ({ ...lease('complete'), body: { ...lease('complete').body, result: {} } }),
    worker,
  ],
  'jobs-fail': [() => ({ ...lease('fail'), body: { ...lease('fail').body, category: 'internal' } }), worker],
  'jobs-complete-many': [
    () => ({
      method: 'POST',
      path: '/api/v1/jobs/complete',
      body: { jobs: [{ ...lease('complete').body, id: jobId, result: {} }] },
    }),
    worker,
  ],
  'jobs-fail-many': [
    () => ({
      method: 'POST',
      path: '/api/v1/jobs/fail',
      body: { jobs: [{ ...lease('fail').body, id: jobId, category: 'internal' }] },
    }),
    worker,
  ],
  'jobs-heartbeat-many': [
    () => ({
      method: 'POST',
      path: '/api/v1/jobs/heartbeat',
      body: { jobs: [{ ...lease('heartbeat').body, id: jobId }] },
    }),
    worker,
  ],
  'jobs-reap': [() => ({ method: 'POST', path: '/api/v1/jobs/reap', body: {} }), worker],
  'queues-pause': [
    () => ({ method: 'POST', path: '/api/v1/queues/pause', body: { model_profile: 'x', reason: 'r' } }),
    adminOnly,
  ],
  'queues-resume': [
    () => ({ method: 'POST', path: '/api/v1/queues/resume', body: { model_profile: 'x' } }),
    adminOnly,
  ],
  'queues-set': [() => ({ method: 'PUT', path: '/api/v1/queues/x', body: { limit: 2 } }), adminOnly],
  'tokens-create': [
    () => ({
      method: 'POST',
      path: '/api/v1/tokens',
      body: { name: `t-${Math.random()}`.replace('.', ''), owner_services: ['a'], scopes: ['jobs:read'] },
    }),
    adminOnly,
  ],
  'tokens-list': [() => ({ method: 'GET', path: '/api/v1/tokens' }), adminOnly],
  'tokens-revoke': [
    () => ({ method: 'POST', path: `/api/v1/tokens/${tokenId}/revoke`, body: {} }),
    adminOnly,
  ],
};

function lease(what: string): Req & { body: Record<string, unknown> } {
  return {
    method: 'POST',
    path: `/api/v1/jobs/${jobId}/${what}`,
    body: { worker_id: 'w', lease_token: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80' },
  };
}

const header = (k: Kind): Record<string, string> =>
  k === 'none'
    ? {}
    : {
        authorization: `Bearer ${k === 'wrong' ? 'ais_not-a-real-token' : k === 'admin' ? ADMIN : tokens[k]}`,
      };

beforeAll(async () => {
  api = await startTestApi({ AI_SERVICE_TOKEN: ADMIN });
  const mk = async (body: unknown) => {
    const r = await api.json('POST', '/api/v1/tokens', body, header('admin'));
    expect(r.status).toBe(201);
    return r.body;
  };
  tokens.own = (
    await mk({
      name: 'tele',
      owner_services: ['telephony'],
      scopes: ['jobs:read', 'jobs:write', 'jobs:admin'],
    })
  ).token;
  tokens.other = (
    await mk({
      name: 'mon',
      owner_services: ['monitoring-tg'],
      scopes: ['jobs:read', 'jobs:write', 'jobs:admin'],
    })
  ).token;
  tokens.worker = (await mk({ name: 'gpu', scopes: ['worker'], task_types: ['none', 'llm_chat'] })).token;
  tokenId = (await mk({ name: 'spare', owner_services: ['x'], scopes: ['jobs:read'] })).id;
  jobId = (await api.json('POST', '/api/v1/jobs', JOB, header('admin'))).body.id;
});
afterAll(async () => api?.close());

describe('who may call what', () => {
  it('every route has a rule', () => {
    const names = [...ALL_FUNCTIONS.map((f) => f.name), 'metrics'];
    const missing = names.filter((n) => !(n in RULES) && !n.startsWith('ops-'));
    expect(missing).toEqual([]);
    for (const f of ALL_FUNCTIONS) if (f.name.startsWith('ops-')) expect(f.access).toBe('console');
  });

  it.each(Object.entries(RULES).filter(([, r]) => Array.isArray(r)))('%s', async (_name, rule) => {
    const [req, expected] = rule as Exclude<(typeof RULES)[string], string>;
    const got: Record<string, number> = {};
    const want: Record<string, Expect> = { ...expected, none: 401, wrong: 401 };
    for (const kind of ['admin', 'own', 'other', 'worker', 'none', 'wrong'] as Kind[]) {
      const r = req();
      const res = await api.call(r.method, r.path, r.body, header(kind));
      got[kind] = res.status;
      await res.text();
    }
    const seen = Object.fromEntries(
      Object.entries(got).map(([k, s]) => [k, [401, 403, 404].includes(s) ? s : 'ok']),
    );
    expect(seen).toEqual(want);
  });

  it('open routes answer without any token', async () => {
    for (const p of ['/healthz', '/readyz', '/api/v1/openapi.json', '/docs', '/metrics']) {
      expect((await api.call('GET', p)).status, p).toBe(200);
    }
  });

  it('a bearer token, even the admin one, opens no console page: the console wants its session', async () => {
    for (const p of ['/ops', '/ops/jobs', '/ops/failures', '/ops/ab', '/ops/usage']) {
      const res = await api.call('GET', p, undefined, header('admin'));
      expect([302, 303], p).toContain(res.status);
      expect(res.headers.get('location')).toMatch(/^\/ops\/login/);
    }
  });
});

describe('a caller token sees only its own services', () => {
  it('lists, stats and search are pinned to its service; another caller’s job is 404', async () => {
    await api.json(
      'POST',
      '/api/v1/jobs',
      { ...JOB, owner_service: 'monitoring-tg', owner_ref: 'm/1' },
      header('admin'),
    );
    const mine = await api.json('GET', '/api/v1/jobs', undefined, header('own'));
    expect(mine.status).toBe(200);
    expect(new Set(mine.body.jobs.map((j: any) => j.owner_service))).toEqual(new Set(['telephony']));
    const theirs = await api.json('GET', '/api/v1/jobs', undefined, header('other'));
    expect(new Set(theirs.body.jobs.map((j: any) => j.owner_service))).toEqual(new Set(['monitoring-tg']));
    const s = await api.json('GET', '/api/v1/stats', undefined, header('other'));
    const all = await api.json('GET', '/api/v1/stats', undefined, header('admin'));
    expect(s.body.queue.pending).toBeLessThan(all.body.queue.pending);
    expect((await api.json('GET', `/api/v1/jobs/${jobId}`, undefined, header('other'))).status).toBe(404);
    const cancel = await api.json('POST', '/api/v1/jobs/cancel', { ids: [jobId] }, header('other'));
    expect(cancel.body.count).toBe(0); // pinned to monitoring-tg: telephony's job is out of reach
    expect((await api.json('POST', '/api/v1/jobs/cancel', {}, header('own'))).status).toBe(400); // never "all of mine"
  });

  it('a worker token claims only its task types; a revoked token is refused at once', async () => {
    const r = await api.json(
      'POST',
      '/api/v1/jobs/claim',
      { worker_id: 'w', task_types: ['transcribe'] },
      header('worker'),
    );
    expect(r.status).toBe(403);
    const ok = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w', limit: 5 }, header('worker'));
    expect(ok.status).toBe(200);
    expect(ok.body.jobs.every((j: any) => ['none', 'llm_chat'].includes(j.task_type))).toBe(true);
    const list = await api.json('GET', '/api/v1/tokens', undefined, header('admin'));
    const row = list.body.tokens.find((t: any) => t.name === 'tele');
    expect(JSON.stringify(list.body)).not.toContain(tokens.own!);
    expect(JSON.stringify(list.body)).not.toMatch(/token_hash/);
    await api.json('POST', `/api/v1/tokens/${row.id}/revoke`, {}, header('admin'));
    expect((await api.json('GET', '/api/v1/jobs', undefined, header('own'))).status).toBe(401);
  });

  it('tokens are stored hashed', async () => {
    const rows = await api.t.db.query<{ token_hash: string }>('SELECT token_hash FROM ai_caller_tokens');
    for (const r of rows.rows) {
      expect(r.token_hash).toMatch(/^[0-9a-f]{64}$/);
      for (const t of Object.values(tokens)) expect(r.token_hash).not.toBe(t);
    }
  });
});
