// Which database connection a querying edge bundle uses (lib/edge/adapter.ts): on Node
// (also Deno, Bun) one pool per isolate serves request after request; in workerd every
// request opens its own — a WebSocket from another request would hang it — also with
// nodejs_compat, where workerd looks like Node. Counted at the WebSocket proxy: each
// accepted WebSocket is one PostgreSQL session.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connectionsOutliveRequests } from '../../lib/edge/adapter.ts';
import { build } from '../../scripts/build.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { startWsProxy, type WsProxy } from '../support/ws-proxy.ts';

describe('connectionsOutliveRequests', () => {
  const node = { process: { versions: { node: '20.20.2' } } };
  it.each<[string, Record<string, string>, object, boolean]>([
    ['Node', {}, node, true],
    ['Deno', {}, { Deno: {} }, true],
    ['Bun', {}, { Bun: {} }, true],
    ['Cloudflare Workers', {}, { navigator: { userAgent: 'Cloudflare-Workers' } }, false],
    [
      'Workers with nodejs_compat (looks like Node)',
      {},
      { ...node, navigator: { userAgent: 'Cloudflare-Workers' } },
      false,
    ],
    ['Vercel Edge', {}, { ...node, EdgeRuntime: 'edge-runtime' }, false],
    ['an unknown runtime', {}, {}, false],
    ['EDGE_DB_REUSE=0 on Node', { EDGE_DB_REUSE: '0' }, node, false],
    ['EDGE_DB_REUSE=1 anywhere', { EDGE_DB_REUSE: '1' }, {}, true],
  ])('%s', (_name, env, globals, want) => {
    expect(connectionsOutliveRequests(env, globals)).toBe(want);
  });
});

describe.skipIf(!hasServer)('connections of a querying bundle', () => {
  const TOKEN = 'conn-token';
  const MISSING = '/api/v1/jobs/0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80';
  let out: string;
  let file: string;
  let t: TestDb;
  let proxy: WsProxy;
  let env: Record<string, string>;

  beforeAll(async () => {
    out = await mkdtemp(path.join(tmpdir(), 'aisvc-conn-'));
    const [report] = await build(out, { node: false, only: ['jobs-get'] });
    file = report!.file;
    t = await freshDb('pg');
    const u = new URL(t.url!);
    proxy = await startWsProxy(u.hostname, Number(u.port || 5432));
    env = {
      DATABASE_URL: t.url!,
      NEON_WS_PROXY: proxy.address,
      NEON_INSECURE: '1',
      AI_SERVICE_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
    };
    // Node 20 has no global WebSocket; edge runtimes do.
    (globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await t?.cleanup();
    if (out) await rm(out, { recursive: true, force: true });
  });

  /** A fresh module instance: its own isolate-wide state, as in a new isolate. */
  const load = async (tag: string) =>
    (await import(`${pathToFileURL(file).href}?${tag}`)).default as {
      fetch(req: Request, env: Record<string, string>): Promise<Response>;
    };
  const get = (bundle: Awaited<ReturnType<typeof load>>, extra: Record<string, string> = {}) =>
    bundle.fetch(
      new Request(`https://edge.example${MISSING}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
      {
        ...env,
        ...extra,
      },
    );

  it('on Node one connection serves request after request, concurrent ones too', async () => {
    const bundle = await load('node');
    const before = proxy.accepted;
    for (let i = 0; i < 5; i++) expect((await get(bundle)).status).toBe(404);
    expect(proxy.accepted - before).toBe(1);
    const burst = await Promise.all(Array.from({ length: 4 }, () => get(bundle)));
    expect(burst.map((r) => r.status)).toEqual([404, 404, 404, 404]);
    expect(proxy.accepted - before).toBeLessThanOrEqual(4);
  });

  it('EDGE_DB_REUSE=0: a connection per request on Node too', async () => {
    const bundle = await load('per-request');
    const before = proxy.accepted;
    for (let i = 0; i < 3; i++) expect((await get(bundle, { EDGE_DB_REUSE: '0' })).status).toBe(404);
    expect(proxy.accepted - before).toBe(3);
  });

  it('in workerd each request opens its own, with and without nodejs_compat', async () => {
    const mf = new Miniflare({
      workers: [[], ['nodejs_compat']].map((flags, i) => ({
        name: `jobs-get-${i}`,
        modules: true,
        modulesRoot: out,
        scriptPath: file,
        compatibilityDate: '2025-09-15',
        compatibilityFlags: flags,
        bindings: env,
      })),
    });
    try {
      for (const name of ['jobs-get-0', 'jobs-get-1']) {
        const w = (await mf.getWorker(name)) as unknown as {
          fetch(url: string, init: RequestInit): Promise<Response>;
        };
        const before = proxy.accepted;
        for (let i = 0; i < 3; i++) {
          const res = await w.fetch(`http://edge.test${MISSING}`, {
            headers: { authorization: `Bearer ${TOKEN}` },
          });
          expect([name, i, res.status]).toEqual([name, i, 404]);
          await res.text();
        }
        expect([name, proxy.accepted - before]).toEqual([name, 3]);
      }
    } finally {
      await mf.dispose();
    }
  }, 60_000);
});
