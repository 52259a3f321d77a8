// What an SRE reads: /metrics counters move with real traffic, and the JSON logs carry
// request ids without input contents or the service token.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { buildApi } from '../../lib/server/server.ts';
import { createLogger } from '../../lib/telemetry/log.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    cb();
  },
});

let t: TestDb;
let app: ReturnType<typeof buildApi>['app'];
let close: () => Promise<void>;
beforeAll(async () => {
  t = await freshDb(hasServer ? 'pg' : 'pglite');
  const config = loadConfig({ AI_SERVICE_TOKEN: 'metrics-token', LOG_LEVEL: 'debug' });
  const built = buildApi(config, t.db, createLogger('debug', { process: 'api' }, sink));
  app = built.app;
  close = async () => {
    await built.deps.events?.close();
    await t.cleanup();
  };
});
afterAll(async () => close?.());

const call = async (method: string, path: string, body?: unknown) => {
  const res = await app.fetch(
    new Request(`http://t${path}`, {
      method,
      headers: { authorization: 'Bearer metrics-token', 'x-request-id': 'req-42' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  return res.headers.get('content-type')?.includes('json') ? res.json() : res.text();
};

const sample = (text: string, name: string, labels: Record<string, string>) => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
};

describe('metrics and logs', () => {
  it('a scrape after a few jobs shows the counters moving', async () => {
    const before = String(await call('GET', '/metrics'));
    const job = {
      owner_service: 'm',
      owner_ref: 'r',
      task_type: 'llm_chat',
      model_profile: 'qwen2.5-14b',
      input: { user: 'PERSONAL-DATA-123' },
    };
    for (let i = 0; i < 3; i++) await call('POST', '/api/v1/jobs', { ...job, owner_ref: `r/${i}` });
    await call('POST', '/api/v1/jobs', { ...job, owner_ref: 'r/0', idempotency_key: 'same' });
    await call('POST', '/api/v1/jobs', { ...job, owner_ref: 'r/0', idempotency_key: 'same' });
    const claimed = (await call('POST', '/api/v1/jobs/claim', { worker_id: 'w', limit: 2 })) as {
      jobs: { id: string; lease_token: string }[];
    };
    const [a, b] = claimed.jobs;
    await call('POST', `/api/v1/jobs/${a!.id}/complete`, {
      worker_id: 'w',
      lease_token: a!.lease_token,
      result: { ok: 1 },
    });
    await call('POST', `/api/v1/jobs/${b!.id}/fail`, {
      worker_id: 'w',
      lease_token: b!.lease_token,
      category: 'invalid_input',
    });
    const after = String(await call('GET', '/metrics'));
    const l = { task_type: 'llm_chat', model_profile: 'qwen2.5-14b' };
    expect(
      sample(after, 'ai_jobs_created_total', { ...l, outcome: 'created' }) -
        sample(before, 'ai_jobs_created_total', { ...l, outcome: 'created' }),
    ).toBe(4);
    expect(sample(after, 'ai_jobs_created_total', { ...l, outcome: 'existing' })).toBe(1);
    expect(sample(after, 'ai_jobs_completed_total', l)).toBe(1);
    expect(sample(after, 'ai_jobs_failed_total', { ...l, category: 'invalid_input', final: 'true' })).toBe(1);
    expect(sample(after, 'ai_job_duration_seconds_count', l)).toBe(1);
    expect(sample(after, 'ai_claim_batch_size_count', {})).toBe(1);
    expect(sample(after, 'ai_queue_depth', { status: 'pending' })).toBe(2);
    expect(after).toMatch(/ai_queue_oldest_pending_age_seconds\{process="api"\} [0-9.e-]+/);
    expect(
      sample(after, 'http_request_duration_seconds_count', { route: '/api/v1/jobs', status: '201' }),
    ).toBe(4);
    expect(
      sample(after, 'http_request_duration_seconds_count', {
        route: '/api/v1/jobs/:id/complete',
        status: '200',
      }),
    ).toBe(1);
  });

  it('a batch counts each job once, per task type, profile and outcome', async () => {
    const before = String(await call('GET', '/metrics'));
    const d = { owner_service: 'm', task_type: 'batch_a', model_profile: 'p1', input: {} };
    await call('POST', '/api/v1/jobs', { ...d, owner_ref: 'r', idempotency_key: 'b-old' });
    const r = (await call('POST', '/api/v1/jobs/batch', {
      defaults: d,
      jobs: [
        { owner_ref: 'r', idempotency_key: 'b-old' },
        { owner_ref: 'r1' },
        { owner_ref: 'r2', model_profile: 'p2' },
        { owner_ref: 'r3' },
        { owner_ref: 'r4', task_type: 'batch_b', idempotency_key: 'b-new' },
      ],
    })) as { results: { outcome: string }[] };
    expect(r.results.map((x) => x.outcome)).toEqual(['existing', 'created', 'created', 'created', 'created']);
    const after = String(await call('GET', '/metrics'));
    const moved = (labels: Record<string, string>) =>
      sample(after, 'ai_jobs_created_total', labels) - sample(before, 'ai_jobs_created_total', labels);
    expect(moved({ task_type: 'batch_a', model_profile: 'p1', outcome: 'created' })).toBe(3);
    expect(moved({ task_type: 'batch_a', model_profile: 'p1', outcome: 'existing' })).toBe(1);
    expect(moved({ task_type: 'batch_a', model_profile: 'p2', outcome: 'created' })).toBe(1);
    expect(moved({ task_type: 'batch_b', model_profile: 'p1', outcome: 'created' })).toBe(1);
  });

  it('logs are JSON lines with the request id, and never the input or the token', async () => {
    const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requestLines.length).toBeGreaterThan(5);
    expect(requestLines.every((l) => l.request_id === 'req-42' && typeof l.duration_ms === 'number')).toBe(
      true,
    );
    expect(requestLines.some((l) => l.route === '/api/v1/jobs/:id/complete' && l.status === 200)).toBe(true);
    const all = lines.join('\n');
    expect(all).not.toContain('PERSONAL-DATA-123');
    expect(all).not.toContain('metrics-token');
    const created = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'job create');
    expect(created).toMatchObject({ request_id: 'req-42', outcome: 'created' });
    expect(created.job_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
