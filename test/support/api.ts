// An API under test: every function mounted exactly as the Node adapter does, on a fresh
// database (real PostgreSQL when TEST_DATABASE_URL is set, else PGlite). Requests go
// through app.fetch with real Request/Response objects.
import { loadConfig } from '../../lib/config/load.ts';
import { buildApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { type DriverName, freshDb, hasServer, type TestDb } from './db.ts';

export interface TestApi {
  t: TestDb;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  json<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: T }>;
  metrics: ReturnType<typeof buildApi>['metrics'];
  /** The functions' dependencies, by reference: a test may swap the clock or the job waiter. */
  deps: ReturnType<typeof buildApi>['deps'];
  close(): Promise<void>;
}

export async function startTestApi(
  env: Record<string, string> = {},
  driver: DriverName = hasServer ? 'pg' : 'pglite',
): Promise<TestApi> {
  const t = await freshDb(driver);
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const { app, deps, metrics } = buildApi(config, t.db, silentLogger);
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    Promise.resolve(
      app.fetch(
        new Request(`http://test${path}`, {
          method,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        }),
      ),
    );
  return {
    t,
    call,
    async json(method, path, body, headers) {
      const res = await call(method, path, body, headers);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // leave as text
      }
      return { status: res.status, body: parsed as any };
    },
    metrics,
    deps,
    async close() {
      await deps.events?.close();
      await t.cleanup();
    },
  };
}
