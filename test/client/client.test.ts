// The typed client (clients/typescript) against the real service over HTTP: its types
// are the ones generated from the served OpenAPI document (and this fails when they
// drift), waitFor long-polls to the end, runWorker runs the external worker loop, and
// verifyWebhook accepts what the service signs.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AiServiceClient,
  AiServiceError,
  createClient,
  JobFailure,
  runWorker,
  signWebhook,
  verifyWebhook,
  waitFor,
} from '../../clients/typescript/src/index.ts';
import { loadConfig } from '../../lib/config/load.ts';
import { type ApiServer, startApi } from '../../lib/server/server.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { generateClientTypes, SCHEMA_FILE } from '../../scripts/generate-client.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

const TOKEN = 'client-test-token-0123';
let t: TestDb;
let api: ApiServer;
let client: AiServiceClient;

beforeAll(async () => {
  t = await freshDb(hasServer ? 'pg' : 'pglite');
  const config = loadConfig({ LOG_LEVEL: 'silent', AI_SERVICE_TOKEN: TOKEN });
  api = await startApi(config, t.db, silentLogger, { port: 0, host: '127.0.0.1' });
  client = createClient({ baseUrl: `http://127.0.0.1:${api.port}`, token: TOKEN });
});
afterAll(async () => {
  await api?.close();
  await t?.cleanup();
});

const job = (ref: string, input: Record<string, unknown> = { user: 'hi' }) => ({
  owner_service: 'telephony',
  owner_ref: ref,
  task_type: 'external_task',
  model_profile: 'gpu-box',
  input,
});

describe('the typed client', () => {
  it('its checked-in types are exactly what the served document generates', async () => {
    const checkedIn = await readFile(SCHEMA_FILE, 'utf8');
    expect(checkedIn === (await generateClientTypes()), 'run `npm run client:generate`').toBe(true);
  });

  it('create → runWorker → waitFor: completed and failed jobs, typed end to end', async () => {
    const ok = await client.POST('/api/v1/jobs', { body: job('c/1', { user: 'double', n: 21 }) });
    expect(ok.response.status).toBe(201);
    const bad = await client.POST('/api/v1/jobs', { body: job('c/2', { user: 'refuse' }) });
    const stop = new AbortController();
    const loop = runWorker(client, {
      workerId: 'client-worker',
      taskTypes: ['external_task'],
      idleMs: 50,
      leaseTimeout: '30s',
      signal: stop.signal,
      handler: async (j) => {
        if (j.input['user'] === 'refuse') throw new JobFailure('invalid_input', 'nothing to double');
        return { doubled: Number(j.input['n']) * 2 };
      },
    });
    const done = await waitFor(client, ok.data!.id, { timeoutMs: 20_000 });
    const failed = await waitFor(client, bad.data!.id, { timeoutMs: 20_000 });
    stop.abort();
    await loop;
    expect(done).toMatchObject({ status: 'completed', result: { doubled: 42 }, worker_id: 'client-worker' });
    expect(failed).toMatchObject({
      status: 'failed',
      error_category: 'invalid_input',
      error_message: 'nothing to double',
    });
  });

  it('errors come back as the envelope, and a wrong token is a 401', async () => {
    const r = await client.GET('/api/v1/jobs/{id}', {
      params: { path: { id: '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80' } },
    });
    expect(r.response.status).toBe(404);
    expect(r.error?.error.code).toBe('not_found');
    const stranger = createClient({ baseUrl: `http://127.0.0.1:${api.port}`, token: 'wrong' });
    await expect(waitFor(stranger, '0191f6a2-7c3e-7d2a-9b1e-2f4c5d6e7f80')).rejects.toBeInstanceOf(
      AiServiceError,
    );
  });

  it('verifyWebhook accepts the service’s signature and refuses a tampered body', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const ts = Math.floor(Date.now() / 1000);
    const body = '{"type":"job.completed","data":{}}';
    const signature = await signWebhook(secret, 'msg_1', ts, body);
    expect(await verifyWebhook(secret, { id: 'msg_1', timestamp: String(ts), signature }, body)).toBe(true);
    expect(await verifyWebhook(secret, { id: 'msg_1', timestamp: String(ts), signature }, `${body} `)).toBe(
      false,
    );
  });
});
