// Every per-route edge bundle, built fresh (once per run, shared with workerd.test.ts),
// imported as a module and called with a real Request — the database reached through the
// Neon driver over a loopback WebSocket proxy, as on an edge platform in front of a
// self-hosted PostgreSQL.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BUNDLE_BUDGET_BYTES, type BundleReport } from '../../scripts/build.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { edgeBuild } from '../support/edge-build.ts';
import { startWsProxy, type WsProxy } from '../support/ws-proxy.ts';

type Bundle = { fetch(req: Request, env?: Record<string, string>): Promise<Response> };

describe.skipIf(!hasServer)('edge bundles through the Neon driver', () => {
  let reports: BundleReport[];
  let t: TestDb;
  let proxy: WsProxy;
  let env: Record<string, string>;
  const bundles = new Map<string, Bundle>();

  beforeAll(async () => {
    reports = (await edgeBuild()).reports;
    t = await freshDb('pg');
    const u = new URL(t.url!);
    proxy = await startWsProxy(u.hostname, Number(u.port || 5432));
    // Node 20 has no global WebSocket; edge runtimes do.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
    env = {
      DATABASE_URL: t.url!,
      NEON_WS_PROXY: proxy.address,
      NEON_INSECURE: '1',
      AI_SERVICE_TOKEN: 'edge-tok',
      LOG_LEVEL: 'silent',
    };
    for (const r of reports)
      bundles.set(r.name, (await import(pathToFileURL(r.file).href)).default as Bundle);
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await t?.cleanup();
  });

  const call = async (name: string, method: string, p: string, body?: unknown, auth = true) => {
    const b = bundles.get(name);
    if (!b) throw new Error(`no bundle ${name}`);
    const res = await b.fetch(
      new Request(`https://edge.example${p}`, {
        method,
        headers: {
          ...(auth ? { authorization: 'Bearer edge-tok' } : {}),
          'content-type': 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      env,
    );
    const text = await res.text();
    return { status: res.status, text, body: text.startsWith('{') ? JSON.parse(text) : text };
  };

  it('every bundle is within budget and free of Node-only code', async () => {
    expect(reports.length).toBeGreaterThanOrEqual(19);
    for (const r of reports) {
      expect(r.bytes, r.name).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
      const src = await readFile(r.file, 'utf8');
      expect(src, r.name).not.toMatch(/from\s*["']node:|require\(["'](pg|node:)/);
    }
  });

  it('each bundle answers its route against the database', async () => {
    const job = {
      owner_service: 'edge',
      owner_ref: 'e/1',
      task_type: 'llm_chat',
      model_profile: 'm',
      input: { user: 'hi' },
    };
    expect((await call('healthz', 'GET', '/healthz', undefined, false)).status).toBe(200);
    expect((await call('readyz', 'GET', '/readyz', undefined, false)).body).toMatchObject({
      status: 'ready',
      driver: 'neon',
    });
    expect((await call('jobs-create', 'POST', '/api/v1/jobs', job, false)).status).toBe(401);
    const created = await call('jobs-create', 'POST', '/api/v1/jobs', job);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await call('jobs-get', 'GET', `/api/v1/jobs/${id}`)).body.id).toBe(id);
    expect((await call('jobs-list', 'GET', '/api/v1/jobs?owner_service=edge')).body.jobs).toHaveLength(1);
    const batch = await call('jobs-batch', 'POST', '/api/v1/jobs/batch', {
      defaults: job,
      jobs: [{ owner_ref: 'e/2' }, { owner_ref: 'e/3' }],
    });
    expect(batch.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['created', 'created']);
    const claimed = (
      await call('jobs-claim', 'POST', '/api/v1/jobs/claim', { worker_id: 'edge-w', limit: 3 })
    ).body.jobs;
    expect(claimed).toHaveLength(3);
    const [a, b, c] = claimed as { id: string; lease_token: string }[];
    const lease = (j: { lease_token: string }) => ({ worker_id: 'edge-w', lease_token: j.lease_token });
    expect((await call('jobs-heartbeat', 'POST', `/api/v1/jobs/${a!.id}/heartbeat`, lease(a!))).status).toBe(
      200,
    );
    expect(
      (
        await call('jobs-complete', 'POST', `/api/v1/jobs/${a!.id}/complete`, {
          ...lease(a!),
          result: { ok: 1 },
        })
      ).body.status,
    ).toBe('completed');
    expect(
      (
        await call('jobs-complete', 'POST', `/api/v1/jobs/${b!.id}/complete`, {
          worker_id: 'other',
          lease_token: b!.lease_token,
          result: {},
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await call('jobs-fail', 'POST', `/api/v1/jobs/${b!.id}/fail`, {
          ...lease(b!),
          category: 'invalid_input',
        })
      ).body.status,
    ).toBe('failed');
    expect((await call('jobs-retry', 'POST', `/api/v1/jobs/${b!.id}/retry`)).body.status).toBe('pending');
    expect(
      (await call('jobs-retry-by-filter', 'POST', '/api/v1/jobs/retry', { ids: [c!.id] })).body.count,
    ).toBe(1);
    expect(
      (await call('jobs-cancel', 'POST', '/api/v1/jobs/cancel', { owner_service: 'edge', dry_run: true }))
        .body.count,
    ).toBe(2);
    expect((await call('jobs-reap', 'POST', '/api/v1/jobs/reap')).body).toMatchObject({
      requeued: 0,
      failed: 0,
    });
    expect((await call('stats', 'GET', '/api/v1/stats')).body.queue.pending).toBe(2);
    const waited = await call('jobs-get', 'GET', `/api/v1/jobs/${a!.id}?wait=5s`);
    expect(waited.body.status).toBe('completed');
    const providers = (await call('providers-status', 'GET', '/api/v1/providers/status')).body.providers;
    expect(providers.every((p: { configured: boolean }) => p.configured === false)).toBe(true);
    expect((await call('infra-status', 'GET', '/api/v1/infra/status')).body).toEqual({ configured: false });
    expect((await call('openapi', 'GET', '/api/v1/openapi.json')).body.openapi).toBe('3.1.0');
    expect((await call('docs', 'GET', '/docs', undefined, false)).text).toContain('<!doctype html>');
  }, 60_000);
});
