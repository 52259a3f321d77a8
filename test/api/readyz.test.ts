// Readiness says "not ready" (503) when migrations are missing or the database is gone,
// and answers within its own timeout either way.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { openPg } from '../../lib/db/pg.ts';
import { buildApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { freshDb } from '../support/db.ts';

const config = loadConfig({ LOG_LEVEL: 'silent' });
const get = async (app: ReturnType<typeof buildApi>['app'], path: string) => {
  const res = await app.fetch(new Request(`http://t${path}`));
  return { status: res.status, body: await res.json() };
};

describe('readyz', () => {
  it('503 with the missing migrations on an unmigrated database', async () => {
    const t = await freshDb('pglite', { migrate: false });
    const { app } = buildApi(config, t.db, silentLogger);
    const r = await get(app, '/readyz');
    expect(r).toMatchObject({ status: 503, body: { status: 'not_ready', reason: 'migrations pending' } });
    expect(r.body.missing).toContain('001_jobs.sql');
    expect((await get(app, '/healthz')).status).toBe(200);
    await t.cleanup();
    // A brand-new PGlite (no template: it must stay unmigrated) takes ~4 s idle, far more
    // on a loaded machine.
  }, 120_000);

  it('503 within its timeout when the database cannot be reached', async () => {
    // A port nothing listens on: connecting fails or hangs; readiness must still answer.
    const db = openPg('postgres://postgres@127.0.0.1:1/none', { max: 1 });
    const { app } = buildApi(config, db, silentLogger);
    const t0 = Date.now();
    const r = await get(app, '/readyz');
    expect(r).toMatchObject({ status: 503, body: { reason: 'database unreachable' } });
    expect(Date.now() - t0).toBeLessThan(3000);
    const api = await get(app, '/api/v1/stats');
    expect(api.status).toBe(503);
    expect(api.body.error.code).toBe('unavailable');
    await db.close();
  });
});
