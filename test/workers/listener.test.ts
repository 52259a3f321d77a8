// The worker's LISTEN session (workers/listener.ts over lib/db/listener.ts) comes back on
// its own when its backend is terminated: the driver reports the lost connection, so no
// database error elsewhere (the runner's suspect()) and no ping is needed to notice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS_CHANNEL } from '../../lib/db/port.ts';
import { silentLogger } from '../../lib/telemetry/port.ts';
import { JobsListener } from '../../workers/listener.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

describe.skipIf(!hasServer)('JobsListener on PostgreSQL', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await freshDb('pg', { migrate: false });
  });
  afterAll(async () => t?.cleanup());

  it('re-listens after pg_terminate_backend without being told, and delivers again', async () => {
    const payloads: string[] = [];
    let listening = 0;
    const l = new JobsListener(t.db, silentLogger, {
      pingIntervalMs: 0, // no ping: only the driver's report can trigger the reconnect
      pingTimeoutMs: 0,
      onPayload: (p) => payloads.push(p),
      onListening: () => listening++,
    });
    const until = async (cond: () => boolean) => {
      const end = Date.now() + 10_000;
      while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(cond()).toBe(true);
    };
    l.start();
    await until(() => l.status.state === 'listening');
    const killed = await t.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'ai-service-listen' AND datname = current_database()`,
    );
    expect(killed.rowCount).toBe(1);
    await until(() => l.status.reconnects === 1 && l.status.state === 'listening');
    expect(listening).toBe(2);
    await t.db.query('SELECT pg_notify($1, $2)', [JOBS_CHANNEL, 'llm_chat']);
    await until(() => payloads.includes('llm_chat'));
    await l.stop();
    expect(l.status.state).toBe('stopped');
  });
});
