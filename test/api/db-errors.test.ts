// Issue 10, defect 4: database errors that are worth retrying (lib/db/transient.ts, the
// classifier the worker retries on too) are answered 503 `unavailable` with Retry-After,
// not 500: a lost serialization race, a deadlock, a database without its schema
// (MIGRATE_ON_START=false before `npm run migrate`). Errors about the statement stay 500.
// The errors are real ones raised by the database (a trigger), not thrown by a stub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.ts';
import { buildApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { isTransientDbError } from '../../workers/retry.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

const job = { owner_service: 's', owner_ref: 'r', task_type: 't', model_profile: 'm', input: {} };

describe('transient database errors on the API', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.close());

  const raiseOnInsert = async (sqlstate: string) => {
    await api.t.db.exec(`
      CREATE OR REPLACE FUNCTION test_raise() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '${sqlstate}'; END $$;
      DROP TRIGGER IF EXISTS test_raise ON ai_jobs;
      CREATE TRIGGER test_raise BEFORE INSERT ON ai_jobs FOR EACH ROW EXECUTE FUNCTION test_raise();`);
  };

  it.each(['40001', '40P01'])('%s on POST /jobs → 503 unavailable with Retry-After', async (sqlstate) => {
    await raiseOnInsert(sqlstate);
    const res = await api.call('POST', '/api/v1/jobs', job);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: { code: 'unavailable' } });
  });

  it('an error about the statement (22012) stays 500 internal, without Retry-After', async () => {
    await raiseOnInsert('22012');
    const res = await api.call('POST', '/api/v1/jobs', job);
    expect(res.status).toBe(500);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'internal' } });
    await api.t.db.exec('DROP TRIGGER test_raise ON ai_jobs');
    expect((await api.call('POST', '/api/v1/jobs', job)).status).toBe(201);
  });
});

describe('an unmigrated database with MIGRATE_ON_START=false', () => {
  let t: TestDb;
  let api: ReturnType<typeof buildApi>;
  beforeAll(async () => {
    // A database as `createdb` leaves it (dropping the schema is much faster than a new
    // PGlite initdb).
    t = await freshDb(hasServer ? 'pg' : 'pglite');
    await t.db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    api = buildApi(loadConfig({ LOG_LEVEL: 'silent', MIGRATE_ON_START: 'false' }), t.db, silentLogger);
  });
  afterAll(async () => {
    await api?.deps.events?.close();
    await t?.cleanup();
  });

  it('POST /jobs → 503 unavailable with Retry-After, saying the schema is missing', async () => {
    const res = await api.app.fetch(
      new Request('http://test/api/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(job),
      }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = await res.json();
    expect(body.error.code).toBe('unavailable');
    expect(body.error.message).toMatch(/not migrated/);
  });
});

describe('the one classifier (lib/db/transient.ts)', () => {
  const err = (code?: string, message = 'x') => Object.assign(new Error(message), code ? { code } : {});
  it('retries connection, shutdown, resource, serialization, deadlock and missing-schema errors', () => {
    for (const code of ['40001', '40P01', '57P01', '57P02', '57P03', '08006', '08001', '53300', '42P01'])
      expect(isTransientDbError(err(code)), code).toBe(true);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])
      expect(isTransientDbError(err(code))).toBe(true);
    expect(isTransientDbError(err(undefined, 'timeout exceeded when trying to connect'))).toBe(true);
    expect(isTransientDbError(err(undefined, 'Connection terminated unexpectedly'))).toBe(true);
  });
  it('does not retry errors about the statement or our own bugs', () => {
    for (const code of ['23505', '22P02', '42601', '22012', '42703'])
      expect(isTransientDbError(err(code)), code).toBe(false);
    expect(isTransientDbError(new TypeError('x is undefined'))).toBe(false);
  });
});
