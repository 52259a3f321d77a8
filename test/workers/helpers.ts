// Shared helpers for the worker tests: a Config from a few variables, job creation, and
// waiting for a job (or anything) to reach a state without fixed sleeps.
import { loadConfig } from '../../lib/config/load.ts';
import type { Config } from '../../lib/config/schema.ts';
import type { Queryable } from '../../lib/db/port.ts';
import { createJob } from '../../lib/jobs/create.ts';
import { getJob } from '../../lib/jobs/list.ts';
import type { JobRow } from '../../lib/jobs/row.ts';
import type { CreateJob } from '../../lib/jobs/schemas.ts';

let seq = 0;

/** A Config as the process would load it, with test-friendly worker timings. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    LOG_LEVEL: 'silent',
    WORKER_ID: `test-worker-${process.pid}-${++seq}`,
    WORKER_HTTP_HOST: '127.0.0.1',
    WORKER_HTTP_PORT: '0',
    WORKER_POLL_INTERVAL: '200ms',
    WORKER_SHUTDOWN_GRACE: '2s',
    ...env,
  });
}

export async function addJob(db: Queryable, over: Partial<CreateJob> = {}): Promise<JobRow> {
  const { job } = await createJob(db, {
    owner_service: 'test',
    owner_ref: `ref/${++seq}`,
    task_type: 'llm_chat',
    model_profile: 'qwen2.5-14b',
    input: { user: 'hello' },
    ...over,
  });
  return job;
}

export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 5_000,
  everyMs = 20,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function jobRow(db: Queryable, id: string): Promise<JobRow> {
  const row = await getJob(db, id);
  if (!row) throw new Error(`job ${id} not found`);
  return row as JobRow;
}

/** Waits until the job's status is one of `statuses` and returns the row. */
export function waitForStatus(
  db: Queryable,
  id: string,
  statuses: JobRow['status'] | JobRow['status'][],
  timeoutMs = 5_000,
): Promise<JobRow> {
  const want = Array.isArray(statuses) ? statuses : [statuses];
  return waitFor(
    async () => {
      const row = await jobRow(db, id);
      return want.includes(row.status) ? row : undefined;
    },
    `job ${id} to be ${want.join('|')}`,
    timeoutMs,
  );
}

export async function countByStatus(db: Queryable): Promise<Record<string, number>> {
  const r = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM ai_jobs GROUP BY status',
  );
  return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
}
