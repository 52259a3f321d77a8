// Database outages on real PostgreSQL, without touching the shared server:
//  - a "restart" by terminating every backend of the test database under a running
//    worker process: it recovers without a restart, re-establishes LISTEN (a new job is
//    picked up within a second although the poll interval is 10 s);
//  - PostgreSQL unreachable (a TCP proxy in front of it is cut): the worker keeps running,
//    /readyz says 503, /worker/status says why, and it resumes when the proxy is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPg } from '../../lib/db/pg.ts';
import type { Handler } from '../../workers/handler.ts';
import { startWorker, type WorkerHandle } from '../../workers/worker.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { addJob, jobRow, testConfig, waitFor, waitForStatus } from './helpers.ts';
import { getJson, spawnWorker, startTcpProxy } from './processes.ts';

const MODEL = 'qwen2.5-14b';

type Status = { db: { reachable: boolean | null }; listen: { state: string; reconnects: number } };

describe.skipIf(!hasServer)('database outages (PostgreSQL)', () => {
  let t: TestDb;
  let llm: FakeOpenAI;

  beforeAll(async () => {
    t = await freshDb('pg');
    llm = await startFakeOpenAI({ models: [MODEL] });
  });
  afterAll(async () => {
    await llm?.close();
    await t?.cleanup();
  });

  it('recovers from its backends being terminated (a restart) and still wakes on NOTIFY', async () => {
    const w = spawnWorker({
      DATABASE_URL: t.url!,
      WORKER_ID: 'worker-restart',
      LLM_BASE_URL: llm.url,
      LLM_MODEL: MODEL,
      WORKER_POLL_INTERVAL: '10s',
    });
    try {
      const url = await w.url;
      const status = async () => (await getJson(`${url}/worker/status`)).json as unknown as Status;
      await waitFor(async () => (await status()).listen.state === 'listening', 'LISTEN', 10_000);

      const first = await addJob(t.db, { model_profile: MODEL });
      let t0 = Date.now();
      await waitForStatus(t.db, first.id, 'completed', 3_000);
      expect(Date.now() - t0).toBeLessThan(1_500);

      const killed = await t.db.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(2); // at least the pool and the LISTEN session
      await waitFor(
        async () => {
          const s = await status();
          return s.listen.state === 'listening' && s.listen.reconnects >= 1;
        },
        'LISTEN to be re-established',
        5_000,
      );

      const second = await addJob(t.db, { model_profile: MODEL });
      t0 = Date.now();
      await waitForStatus(t.db, second.id, 'completed', 3_000);
      expect(Date.now() - t0).toBeLessThan(1_500);
      expect((await getJson(`${url}/readyz`)).status).toBe(200);
      expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await w.stop('SIGKILL');
    }
  });

  it('survives PostgreSQL being unreachable: not ready meanwhile, resumes on its own', async () => {
    const target = new URL(t.url!);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const via = new URL(t.url!);
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    let worker: WorkerHandle | undefined;
    const db = openPg(via.toString(), { max: 4, onError: (err) => worker?.onDbError(err) });
    const handler: Handler = {
      name: 'noop',
      taskTypes: ['noop'],
      modelProfiles: [],
      run: async () => ({ ok: 1 }),
    };
    try {
      worker = await startWorker(testConfig({ WORKER_POLL_INTERVAL: '200ms', WORKER_REAP_INTERVAL: '1h' }), {
        db,
        handlers: [handler],
        probe: { host: '127.0.0.1', port: 0 },
      });
      const w = worker;
      const before = await addJob(t.db, { task_type: 'noop' });
      await waitForStatus(t.db, before.id, 'completed');

      await proxy.cut();
      await waitFor(() => w.status().db.reachable === false, 'the worker to notice the outage', 3_000);
      expect((await getJson(`${w.probeUrl}/readyz`)).status).toBe(503);
      expect((await getJson(`${w.probeUrl}/healthz`)).status).toBe(200);
      const during = await addJob(t.db, { task_type: 'noop' }); // written directly, not through the proxy
      await new Promise((r) => setTimeout(r, 700));
      expect((await jobRow(t.db, during.id)).status).toBe('pending');
      expect(w.status()).toMatchObject({
        phase: 'running',
        db: { last_error: { message: expect.any(String) } },
      });

      await proxy.restore();
      await waitForStatus(t.db, during.id, 'completed', 8_000);
      expect(w.status().db.reachable).toBe(true);
      expect((await getJson(`${w.probeUrl}/readyz`)).status).toBe(200);
      await waitFor(
        () => w.status().listen.state === 'listening' && w.status().listen.reconnects >= 1,
        'LISTEN again',
        5_000,
      );
    } finally {
      await worker?.stop();
      await db.close();
      await proxy.close();
    }
  });
});
