// The worker's probe server over real HTTP: /healthz, /readyz (also against a database
// that refuses connections), /worker/status while a job is in flight, /metrics counters
// moving, and the built-in reaper's metric.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPg } from '../../lib/db/pg.ts';
import type { Db } from '../../lib/db/port.ts';
import { ProviderError } from '../../lib/providers/errors.ts';
import type { Handler } from '../../workers/handler.ts';
import { startWorker, type WorkerHandle } from '../../workers/worker.ts';
import { freshDb, type TestDb } from '../support/db.ts';
import { addJob, jobRow, testConfig, waitFor, waitForStatus } from './helpers.ts';
import { ManualClock } from './manual-clock.ts';

const get = async (url: string) => {
  const res = await fetch(url);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json: json as Record<string, unknown> };
};

/** `name{labels} value` lines of a Prometheus text body whose labels include every given pair. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('worker probe server', () => {
  let t: TestDb;
  let db: Db;
  let worker: WorkerHandle | undefined;
  let release: (() => void) | undefined;

  // `hold` jobs wait until the test releases them; `fail` jobs fail with a provider error.
  const handler: Handler = {
    name: 'test-handler',
    taskTypes: ['probe_test'],
    modelProfiles: ['p1'],
    provider: 'test-provider',
    run: async (job) => {
      const kind = (job.input as { kind?: string }).kind;
      if (kind === 'hold') await new Promise<void>((r) => (release = r));
      if (kind === 'fail')
        throw new ProviderError({ category: 'rate_limited', provider: 'x', message: '429' });
      return { ok: true };
    },
  };

  beforeAll(async () => {
    t = await freshDb('pglite');
    db = t.db;
  });
  afterAll(async () => t?.cleanup());
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
  });
  afterEach(async () => {
    release?.();
    await worker?.stop();
    worker = undefined;
  });

  it('answers /healthz, /readyz, /worker/status and /metrics, and the numbers move', async () => {
    // The runner's time is manual (job ages are exact); NOTIFYs and outcomes are not folded.
    const clock = new ManualClock();
    worker = await startWorker(testConfig({ WORKER_REAP_INTERVAL: '100ms' }), {
      db,
      handlers: [handler],
      probe: { host: '127.0.0.1', port: 0 },
      clock,
      tuning: { notifyDebounceMs: 0, completeDelayMs: 0 },
    });
    const base = worker.probeUrl!;
    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await get(`${base}/readyz`)).toMatchObject({ status: 200, json: { status: 'ready', db: 'ok' } });

    const held = await addJob(db, { task_type: 'probe_test', model_profile: 'p1', input: { kind: 'hold' } });
    await waitForStatus(db, held.id, 'running');
    await waitFor(() => worker!.status().in_flight.length === 1, 'the job in the runner’s hands');
    await clock.advance(30);
    const s = (await get(`${base}/worker/status`)).json as Record<string, unknown> & {
      in_flight: Record<string, unknown>[];
    };
    expect(s).toMatchObject({
      worker_id: worker.workerId,
      phase: 'running',
      draining: false,
      claim_limit: 4,
      db: { reachable: true },
      listen: { state: 'listening' },
      handlers: [
        {
          name: 'test-handler',
          task_types: ['probe_test'],
          model_profiles: ['p1'],
          enabled: true,
          provider: 'test-provider',
        },
      ],
      circuits: { 'test-provider': { state: 'closed', consecutive_failures: 0 } },
      counters: { claimed: 1, completed: 0 },
      last_claim_at: expect.any(String),
    });
    expect(s.in_flight).toEqual([
      {
        id: held.id,
        task_type: 'probe_test',
        model_profile: 'p1',
        handler: 'test-handler',
        attempt: 1,
        age_ms: expect.any(Number),
        phase: 'running',
      },
    ]);
    expect(s.in_flight[0]!['age_ms']).toBe(30);

    release!();
    await waitForStatus(db, held.id, 'completed');
    const m1 = await get(`${base}/metrics`);
    expect(m1.status).toBe(200);
    const completed = { task_type: 'probe_test', model_profile: 'p1' };
    expect(sample(m1.text, 'ai_jobs_completed_total', completed)).toBe(1);

    await addJob(db, { task_type: 'probe_test', model_profile: 'p1', input: {} });
    const failing = await addJob(db, {
      task_type: 'probe_test',
      model_profile: 'p1',
      input: { kind: 'fail' },
    });
    await waitFor(
      async () => (await jobRow(db, failing.id)).error_category === 'rate_limited',
      'the failure',
    );
    await waitFor(
      async () => sample((await get(`${base}/metrics`)).text, 'ai_jobs_completed_total', completed) === 2,
      'the completed counter to reach 2',
    );
    const m2 = (await get(`${base}/metrics`)).text;
    expect(sample(m2, 'ai_jobs_failed_total', { category: 'rate_limited', final: 'false' })).toBe(1);
    expect(
      sample(m2, 'ai_provider_request_duration_seconds_count', { provider: 'test-provider', outcome: 'ok' }),
    ).toBe(2);
    expect(m2).toContain('process="worker"');
    const after = (await get(`${base}/worker/status`)).json;
    expect(after).toMatchObject({
      counters: { claimed: 3, completed: 2, failed: { rate_limited: 1 } },
      last_error: { message: expect.stringMatching(/429/) },
      in_flight: [],
    });
  });

  it('the built-in reaper requeues expired leases and records it in /metrics', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, status, attempts,
                            worker_id, lease_token, lease_expires_at, started_at)
       VALUES ('t', 'r/dead', 'not_served', 'p', '{}', 'running', 1, 'dead-worker', gen_random_uuid(),
               now() - interval '1 second', now() - interval '1 minute')
       RETURNING id`,
    );
    worker = await startWorker(testConfig({ WORKER_REAP_INTERVAL: '100ms' }), {
      db,
      handlers: [handler],
      probe: { host: '127.0.0.1', port: 0 },
    });
    const row = await waitForStatus(db, rows[0]!.id, 'pending');
    expect(row).toMatchObject({ error_category: 'timeout', worker_id: 'dead-worker' });
    const m = (await get(`${worker.probeUrl}/metrics`)).text;
    expect(sample(m, 'ai_lease_reaps_total', { outcome: 'requeued' })).toBe(1);
    expect((await get(`${worker.probeUrl}/worker/status`)).json['reaper']).toMatchObject({
      enabled: true,
      last_run_at: expect.any(String),
    });
  });

  it('reports not ready (503 JSON) while the database refuses connections, and stays alive', async () => {
    // Nothing listens on port 1: every connection is refused.
    const dead = openPg('postgres://nobody@127.0.0.1:1/nothing', { max: 2 });
    try {
      worker = await startWorker(testConfig(), {
        db: dead,
        handlers: [handler],
        probe: { host: '127.0.0.1', port: 0 },
      });
      const base = worker.probeUrl!;
      const ready = await get(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.json).toMatchObject({
        status: 'unavailable',
        db: 'unreachable',
        error: expect.any(String),
      });
      expect((await get(`${base}/healthz`)).status).toBe(200);
      const s = await waitFor(async () => {
        const j = (await get(`${base}/worker/status`)).json as { db: { reachable: boolean | null } };
        return j.db.reachable === false ? j : undefined;
      }, 'the status to show the database unreachable');
      expect(s).toMatchObject({ db: { last_error: { source: 'claim' } }, listen: { state: 'down' } });
      await worker.stop();
      worker = undefined;
    } finally {
      await dead.close();
    }
  });
});
