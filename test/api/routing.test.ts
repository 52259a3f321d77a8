// One route table decides routing and 405 (issue 10 #15): `Allow` lists exactly the
// methods of the path that matched, static paths win over /jobs/:id, a trailing slash
// is a different path. Also: probes log at debug (#8), the OpenAPI document is open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_FUNCTIONS } from '../../functions/index.ts';
import { loadConfig } from '../../lib/config/load.ts';
import { buildApi } from '../../lib/server/server.ts';
import type { LogFields, Logger } from '../../lib/telemetry/port.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi({ AI_SERVICE_TOKEN: 'tok' });
});
afterAll(async () => api?.close());

const AUTH = { authorization: 'Bearer tok' };
const ID = '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80';
const concrete = (path: string) => path.replace(':id', ID);

describe('405 and Allow', () => {
  it('OPTIONS on the static /jobs/* routes lists only their own method', async () => {
    for (const p of ['claim', 'batch', 'cancel', 'reap', 'retry']) {
      for (const m of ['OPTIONS', 'GET', 'DELETE', 'PUT']) {
        const r = await api.call(m, `/api/v1/jobs/${p}`, undefined, AUTH);
        expect(r.status, `${m} ${p}`).toBe(405);
        expect(r.headers.get('allow'), `${m} ${p}`).toBe('POST');
        const body = await r.json();
        expect(body.error).toMatchObject({ code: 'method_not_allowed', details: { allow: ['POST'] } });
      }
    }
  });

  it('every path answers exactly its own methods, and 405s the rest with them in Allow', async () => {
    const byPath = new Map<string, string[]>();
    for (const f of ALL_FUNCTIONS) byPath.set(f.path, [...(byPath.get(f.path) ?? []), f.method]);
    for (const [path, methods] of byPath) {
      for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const r = await api.call(m, concrete(path), m === 'POST' ? '{}' : undefined, AUTH);
        if (methods.includes(m)) {
          expect(r.status, `${m} ${path}`).not.toBe(405);
        } else {
          expect(r.status, `${m} ${path}`).toBe(405);
          expect(r.headers.get('allow')?.split(', ').sort(), `${m} ${path}`).toEqual([...methods].sort());
        }
        await r.arrayBuffer();
      }
    }
  });

  it('a trailing slash is another path: 404 in the envelope, never "GET is not allowed"', async () => {
    for (const p of ['/healthz/', '/api/v1/jobs/', `/api/v1/jobs/${ID}/`, '/api/v1/jobs/claim/']) {
      const r = await api.json('GET', p, undefined, AUTH);
      expect(r.status, p).toBe(404);
      expect(r.body.error.code, p).toBe('not_found');
    }
  });

  it('HEAD is answered like GET; /metrics sits in the same table', async () => {
    expect((await api.call('HEAD', '/healthz')).status).toBe(200);
    const m = await api.call('POST', '/metrics', '{}');
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET');
  });
});

describe('open documents', () => {
  it('GET /api/v1/openapi.json needs no token; the rest of /api/v1 still does', async () => {
    const doc = await api.json('GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect((await api.json('GET', '/api/v1/jobs')).status).toBe(401);
    // The open path is open for every method: a POST learns it is a 405, nothing more.
    expect((await api.json('POST', '/api/v1/openapi.json')).status).toBe(405);
    expect((await api.json('GET', '/api/v1/nope')).status).toBe(401);
    const html = await api.call('GET', '/docs');
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('href="/api/v1/openapi.json"');
  });
});

describe('request logs', () => {
  let t: TestDb;
  afterAll(async () => t?.cleanup());

  it('probes are logged at debug, API requests at info', async () => {
    t = await freshDb(hasServer ? 'pg' : 'pglite');
    const lines: { level: string; fields: LogFields }[] = [];
    const log: Logger = {
      debug: (fields) => lines.push({ level: 'debug', fields }),
      info: (fields) => lines.push({ level: 'info', fields }),
      warn: (fields) => lines.push({ level: 'warn', fields }),
      error: (fields) => lines.push({ level: 'error', fields }),
      child: () => log,
    };
    const { app, deps } = buildApi(loadConfig({ LOG_LEVEL: 'debug' }), t.db, log);
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/v1/jobs']) {
      await (await app.fetch(new Request(`http://test${p}`))).arrayBuffer();
    }
    await deps.events?.close();
    const level = (route: string) => lines.find((l) => l.fields.route === route)?.level;
    expect(level('/healthz')).toBe('debug');
    expect(level('/readyz')).toBe('debug');
    expect(level('/metrics')).toBe('debug');
    expect(level('/api/v1/jobs')).toBe('info');
  });
});
