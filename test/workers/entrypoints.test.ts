// The command-line entry points as processes: the worker refuses a bad configuration
// (exit 1, the variable named), and scripts/reap-leases.ts does one reap + prune with a
// one-line JSON summary and an exit code a CronJob can act on.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';
import { jobRow } from './helpers.ts';

function run(script: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('entry points', () => {
  it('the worker exits 1 on a bad configuration, naming the variable', async () => {
    const r = await run('scripts/worker.ts', { WORKER_CLAIM_LIMIT: 'lots', WORKER_POLL_INTERVAL: 'soon' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/WORKER_CLAIM_LIMIT/);
    expect(r.stderr).toMatch(/WORKER_POLL_INTERVAL/);
  });

  it('reap-leases exits 1 with a JSON error line when the database is unreachable', async () => {
    const r = await run('scripts/reap-leases.ts', { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr.trim())).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/) });
    expect(r.stdout).toBe('');
  });

  describe.skipIf(!hasServer)('on PostgreSQL', () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await freshDb('pg');
    });
    afterAll(async () => t?.cleanup());

    it('reap-leases requeues expired leases, prunes old jobs and prints one summary line', async () => {
      const { rows } = await t.db.query<{ id: string }>(
        `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, status, attempts,
                              worker_id, lease_token, lease_expires_at, started_at)
         VALUES ('t', 'r/1', 'llm_chat', 'p', '{}', 'running', 1, 'dead', gen_random_uuid(),
                 now() - interval '1 second', now() - interval '1 minute')
         RETURNING id`,
      );
      await t.db.query(
        `INSERT INTO ai_jobs (owner_service, owner_ref, task_type, model_profile, input, status, finished_at)
         VALUES ('t', 'r/old', 'llm_chat', 'p', '{}', 'completed', now() - interval '2 days')`,
      );
      const r = await run('scripts/reap-leases.ts', { DATABASE_URL: t.url!, JOB_RETENTION: '1d' });
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toEqual({
        requeued: 1,
        failed: 0,
        pruned: 1,
        duration_ms: expect.any(Number),
      });
      expect(await jobRow(t.db, rows[0]!.id)).toMatchObject({ status: 'pending', error_category: 'timeout' });
    });
  });
});
