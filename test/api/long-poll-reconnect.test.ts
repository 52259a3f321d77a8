// Issue 10, defect 2: a long-poll (GET /api/v1/jobs/{id}?wait=) wakes within a second of
// its job ending, before and after the API's LISTEN session is killed. A terminated
// backend (pg_terminate_backend of 'ai-service-listen') stands in for a PostgreSQL
// restart, a failover or an idle-connection killer. Real PostgreSQL only: PGlite's
// session cannot be lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.ts';
import { hasServer } from '../support/db.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe.skipIf(!hasServer)('long-poll across a lost LISTEN session (PostgreSQL)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({}, 'pg');
  });
  afterAll(async () => api?.close());

  const listenSessions = async () =>
    (
      await api.t.db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
         WHERE application_name = 'ai-service-listen' AND datname = current_database()`,
      )
    ).rows.map((r) => r.pid);

  const terminateListen = async () =>
    (
      await api.t.db.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
         WHERE application_name = 'ai-service-listen' AND datname = current_database()`,
      )
    ).rows.length;

  /**
   * Starts `GET ?wait=8s` on a running job, runs `meanwhile` while it waits, completes the
   * job, and returns how long after the completion the long-poll answered.
   */
  async function wakeAfterComplete(meanwhile: () => Promise<void> = () => sleep(300)): Promise<number> {
    const created = await api.json('POST', '/api/v1/jobs', {
      owner_service: 's',
      owner_ref: 'r',
      task_type: 't',
      model_profile: 'm',
      input: {},
    });
    const claimed = await api.json('POST', '/api/v1/jobs/claim', { worker_id: 'w1', task_types: ['t'] });
    const [j] = claimed.body.jobs;
    expect(j.id).toBe(created.body.id);
    const poll = api.json('GET', `/api/v1/jobs/${j.id}?wait=8s`).then((r) => ({ ...r, at: Date.now() }));
    await meanwhile();
    const done = await api.json('POST', `/api/v1/jobs/${j.id}/complete`, {
      worker_id: 'w1',
      lease_token: j.lease_token,
      result: {},
    });
    expect(done.status).toBe(200);
    const doneAt = Date.now();
    const r = await poll;
    expect(r).toMatchObject({ status: 200, body: { id: j.id, status: 'completed' } });
    return r.at - doneAt;
  }

  it('wakes within 1 s of the job ending, before and after the session is terminated', async () => {
    expect(await wakeAfterComplete()).toBeLessThan(1_000);
    const [before] = await listenSessions();
    expect(before).toBeDefined();

    // Killed while a long-poll is waiting on it.
    expect(
      await wakeAfterComplete(async () => {
        await sleep(200);
        expect(await terminateListen()).toBe(1);
        await sleep(500);
      }),
    ).toBeLessThan(1_000);

    // Killed between long-polls.
    expect(await terminateListen()).toBe(1);
    expect(await wakeAfterComplete()).toBeLessThan(1_000);

    // The session itself came back (a new backend), so wake-ups are NOTIFY-driven again
    // rather than the once-a-second re-reads used while it is down.
    const deadline = Date.now() + 5_000;
    let after = await listenSessions();
    while ((after.length !== 1 || after[0] === before) && Date.now() < deadline) {
      await sleep(50);
      after = await listenSessions();
    }
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    // Long after the loss, a wait that is not woken by a re-read still returns promptly.
    await sleep(1_200);
    expect(await wakeAfterComplete(() => sleep(2_500))).toBeLessThan(1_000);
  }, 60_000);
});
