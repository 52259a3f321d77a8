// Prepared (named) statements in the pg driver (lib/db/prepared.ts, lib/db/pg.ts): the hot
// statements are prepared once per connection, and a migration that changes the table
// under a prepared `SELECT *` does not break reads (the statement falls back to unprepared).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPg } from '../../lib/db/pg.ts';
import type { Db } from '../../lib/db/port.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { createJob } from '../../lib/jobs/create.ts';
import { getJob } from '../../lib/jobs/list.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

describe.runIf(hasServer)('prepared statements on pg', () => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb('pg');
    // One connection, so pg_prepared_statements shows this pool's session.
    db = openPg(t.url!, { max: 1 });
  });
  afterAll(async () => {
    await db?.close();
    await t?.cleanup();
  });

  it('getJob and createJob run as named statements on the connection', async () => {
    const { job } = await createJob(db, {
      owner_service: 's',
      owner_ref: 'r',
      task_type: 't',
      model_profile: 'm',
      input: {},
    });
    expect((await getJob(db, job.id))?.id).toBe(job.id);
    const names = (
      await db.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')
    ).rows.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['aisvc_create_job', 'aisvc_get_job']));
  });

  it('the claim runs as a named statement, alone and inside a transaction (settle and claim)', async () => {
    const prepared = async () =>
      (
        await db.query<{ name: string; n: number }>(
          `SELECT name, (generic_plans + custom_plans)::int AS n FROM pg_prepared_statements WHERE name = 'aisvc_claim'`,
        )
      ).rows[0]?.n ?? 0;
    const before = await prepared();
    await claimJobs(db, { workerId: 'w', limit: 1, leaseMs: 60_000, taskTypes: ['none'] });
    expect(await prepared()).toBe(before + 1);
    await db.transaction((tx) =>
      claimJobs(tx, { workerId: 'w', limit: 1, leaseMs: 60_000, taskTypes: ['none'] }),
    );
    expect(await prepared()).toBe(before + 2);
  });

  it('a column added under the prepared SELECT * is read, not an error', async () => {
    const { job } = await createJob(db, {
      owner_service: 's',
      owner_ref: 'r2',
      task_type: 't',
      model_profile: 'm',
      input: {},
    });
    await getJob(db, job.id);
    await db.exec('ALTER TABLE ai_jobs ADD COLUMN prepared_test_extra text');
    try {
      const again = await getJob(db, job.id);
      expect(again?.id).toBe(job.id);
      expect(again).toHaveProperty('prepared_test_extra', null);
      const made = await createJob(db, {
        owner_service: 's',
        owner_ref: 'r3',
        task_type: 't',
        model_profile: 'm',
        input: {},
      });
      expect(made.outcome).toBe('created');
    } finally {
      await db.exec('ALTER TABLE ai_jobs DROP COLUMN prepared_test_extra');
    }
  });
});
