// Every edge bundle in a real edge runtime: workerd (through Miniflare) loads each file of
// dist/functions as built (the run's one edge build, shared with bundles.test.ts), and
// serves requests against the test PostgreSQL through the Neon WebSocket driver and a loopback WebSocket→TCP proxy (what Neon's proxy does).
// Also: a database outage answers 503 `unavailable` in the envelope on every querying
// bundle, and healthz needs no DATABASE_URL.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ALL_FUNCTIONS } from '../../functions/index.ts';
import { loadConfig } from '../../lib/config/load.ts';
import { migrate } from '../../lib/db/migrations-fs.ts';
import { openNeon } from '../../lib/db/neon.ts';
import { openPg } from '../../lib/db/pg.ts';
import type { Db } from '../../lib/db/port.ts';
import { buildApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { createServerDatabase, hasServer } from '../support/db.ts';
import { edgeBuild } from '../support/edge-build.ts';
import { startWsProxy, type WsProxy } from '../support/ws-proxy.ts';

const TOKEN = 'edge-token-123';
const auth = { authorization: `Bearer ${TOKEN}` };
const json = (body: unknown) => ({
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Requests to querying bundles with the database unreachable. */
const OUTAGE_PROBES: [string, string, RequestInit?][] = [
  [
    'jobs-create',
    '/api/v1/jobs',
    json({ owner_service: 'e', owner_ref: 'r', task_type: 't', model_profile: 'p', input: {} }),
  ],
  ['jobs-get', '/api/v1/jobs/0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80', { headers: auth }],
  ['jobs-list', '/api/v1/jobs', { headers: auth }],
  ['jobs-claim', '/api/v1/jobs/claim', json({ worker_id: 'w' })],
  ['stats', '/api/v1/stats', { headers: auth }],
  ['jobs-reap', '/api/v1/jobs/reap', json({})],
];

let names: string[];
/** Each bundle's source, by name. */
const sources = new Map<string, string>();
let server: { url: string; drop(): Promise<void> };
let pg: Db;
let proxy: WsProxy;
let mf: Miniflare;
let dead: Miniflare;

// The bundle handed over as its one module: Miniflare then does not parse it in Node to
// look for imports (~0.3 s of CPU per bundle); workerd still loads and links it, so an
// import the build left in fails here.
const worker = (name: string, bindings: Record<string, string>) => ({
  name,
  modules: [{ type: 'ESModule', path: `${name}.mjs`, contents: sources.get(name) }],
  compatibilityDate: '2025-09-15',
  bindings: { AI_SERVICE_TOKEN: TOKEN, LOG_LEVEL: 'silent', ...bindings },
});

describe.skipIf(!hasServer)('edge bundles in workerd', () => {
  beforeAll(async () => {
    const { dir, reports } = await edgeBuild();
    names = reports.map((r) => r.name);
    for (const n of names) sources.set(n, await readFile(path.join(dir, 'functions', `${n}.mjs`), 'utf8'));
    server = await createServerDatabase();
    pg = openPg(server.url, { max: 2 });
    await migrate(pg);
    proxy = await startWsProxy('127.0.0.1', Number(new URL(server.url).port || 5432));
    const live = { DATABASE_URL: server.url, NEON_WS_PROXY: proxy.address, NEON_INSECURE: '1' };
    mf = new Miniflare({ workers: names.map((n) => worker(n, live)) as never });
    // The probed bundles and readyz with the database unreachable (nothing listens on
    // port 1), and healthz with no DATABASE_URL at all. Only those: every bundle loading
    // in workerd is shown by `mf`, and each one more here is startup time.
    const down = { DATABASE_URL: server.url, NEON_WS_PROXY: '127.0.0.1:1', NEON_INSECURE: '1' };
    dead = new Miniflare({
      workers: [
        ...[...OUTAGE_PROBES.map(([n]) => n), 'readyz'].map((n) => worker(n, down)),
        { ...worker('healthz', {}), name: 'healthz-bare' },
      ] as never,
    });
  }, 180_000);

  afterAll(async () => {
    await mf?.dispose();
    await dead?.dispose();
    await proxy?.close();
    await pg?.close();
    await server?.drop();
  });

  const call = async (m: Miniflare, name: string, p: string, init?: RequestInit) => {
    const w = (await m.getWorker(name)) as unknown as {
      fetch(url: string, init?: RequestInit): Promise<Response>;
    };
    const res = await w.fetch(`http://edge.test${p}`, init);
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // HTML (docs)
    }
    return { status: res.status, body, type: res.headers.get('content-type') ?? '' };
  };

  it('every bundle serves its route through the Neon driver, with the job flow end to end', async () => {
    const seen = new Set<string>();
    const go = async (name: string, p: string, init?: RequestInit) => {
      seen.add(name);
      return call(mf, name, p, init);
    };
    expect((await go('healthz', '/healthz')).status).toBe(200);
    expect((await go('readyz', '/readyz')).status).toBe(200);
    expect((await go('openapi', '/api/v1/openapi.json', { headers: auth })).body.openapi).toMatch(/^3\./);
    expect((await go('docs', '/docs')).status).toBe(200);
    const job = {
      owner_service: 'edge',
      owner_ref: 'r/1',
      task_type: 't',
      model_profile: 'p',
      input: { a: 1 },
    };
    const created = await go('jobs-create', '/api/v1/jobs', json(job));
    expect(created.status).toBe(201);
    const id = created.body.id;
    const batch = await go(
      'jobs-batch',
      '/api/v1/jobs/batch',
      json({ defaults: job, jobs: [{ owner_ref: 'r/2' }, { owner_ref: 'r/3' }] }),
    );
    expect(batch.status).toBe(200);
    expect((await go('jobs-get', `/api/v1/jobs/${id}`, { headers: auth })).body.status).toBe('pending');
    expect(
      (await go('jobs-list', '/api/v1/jobs?owner_service=edge', { headers: auth })).body.jobs,
    ).toHaveLength(3);
    const claim = await go('jobs-claim', '/api/v1/jobs/claim', json({ worker_id: 'edge-w', limit: 3 }));
    expect(claim.body.jobs).toHaveLength(3);
    const [a, b, c] = claim.body.jobs;
    const lease = (j: any) => ({ worker_id: 'edge-w', lease_token: j.lease_token });
    expect((await go('jobs-heartbeat', `/api/v1/jobs/${a.id}/heartbeat`, json(lease(a)))).status).toBe(200);
    expect(
      (await go('jobs-complete', `/api/v1/jobs/${a.id}/complete`, json({ ...lease(a), result: { ok: 1 } })))
        .status,
    ).toBe(200);
    expect(
      (await go('jobs-fail', `/api/v1/jobs/${b.id}/fail`, json({ ...lease(b), category: 'invalid_input' })))
        .body.status,
    ).toBe('failed');
    expect((await go('jobs-retry', `/api/v1/jobs/${b.id}/retry`, json({}))).body.status).toBe('pending');
    expect((await go('jobs-cancel', '/api/v1/jobs/cancel', json({ ids: [c.id] }))).body.count).toBe(1);
    expect(
      (await go('jobs-retry-by-filter', '/api/v1/jobs/retry', json({ owner_service: 'edge', dry_run: true })))
        .status,
    ).toBe(200);
    expect((await go('stats', '/api/v1/stats', { headers: auth })).body.queue).toHaveProperty('pending');
    expect((await go('jobs-reap', '/api/v1/jobs/reap', json({}))).status).toBe(200);
    expect((await go('providers-status', '/api/v1/providers/status', { headers: auth })).status).toBe(200);
    expect((await go('infra-status', '/api/v1/infra/status', { headers: auth })).status).toBeLessThan(500);
    const rows = await pg.query<{ status: string }>('SELECT status FROM ai_jobs ORDER BY id');
    expect(rows.rows.map((r) => r.status).sort()).toEqual(['cancelled', 'completed', 'pending']);
    // Every other bundle (console pages, queue control, tokens, batches, …) at least
    // loads in workerd and answers its route without a 5xx.
    for (const f of ALL_FUNCTIONS.filter((x) => !seen.has(x.name))) {
      const p = f.path.replace(/:id\b/, id).replace(/:([A-Za-z_]+)/g, 'x');
      const init: RequestInit =
        f.method === 'GET'
          ? { headers: auth }
          : { method: f.method, headers: { ...auth, 'content-type': 'application/json' }, body: '{}' };
      const r = await go(f.name, p, init);
      expect([f.name, r.status < 500]).toEqual([f.name, true]);
    }
    expect([...names].filter((n) => !seen.has(n))).toEqual([]);
  }, 120_000);

  it('a database outage answers 503 unavailable in the envelope on every bundle that queries', async () => {
    for (const [name, p, init] of OUTAGE_PROBES) {
      const r = await call(dead, name, p, init);
      expect([name, r.status, r.body?.error?.code]).toEqual([name, 503, 'unavailable']);
    }
    const ready = await call(dead, 'readyz', '/readyz');
    expect(ready.status).toBe(503);
  }, 120_000);

  it('healthz answers without DATABASE_URL', async () => {
    const r = await call(dead, 'healthz-bare', '/healthz');
    expect(r).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('the Neon driver with the database unreachable, on Node', () => {
  it('the API answers 503 unavailable in the envelope, not a request that never settles', async () => {
    const db = openNeon('postgres://u:secret@127.0.0.1:5432/x', {
      webSocketConstructor: WebSocket,
      wsProxy: '127.0.0.1:1',
      secure: false,
      max: 1,
    });
    const { app } = buildApi(loadConfig({ LOG_LEVEL: 'silent' }), db, silentLogger);
    try {
      for (const [method, p, body] of [
        ['GET', '/api/v1/jobs/0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80', undefined],
        [
          'POST',
          '/api/v1/jobs',
          '{"owner_service":"a","owner_ref":"b","task_type":"t","model_profile":"p","input":{}}',
        ],
      ] as const) {
        const res = await Promise.race([
          Promise.resolve(app.fetch(new Request(`http://n${p}`, { method, body }))),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('never settled')), 10_000)),
        ]);
        expect(res.status).toBe(503);
        const text = await res.text();
        expect(JSON.parse(text).error.code).toBe('unavailable');
        expect(text).not.toContain('secret');
      }
    } finally {
      await db.close();
    }
  });
});
