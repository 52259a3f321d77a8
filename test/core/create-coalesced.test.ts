// Group commit for single creates (lib/jobs/create-coalesced.ts): concurrent creates share
// INSERT statements, yet each caller gets the outcome createJob would give it alone.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../lib/db/port.ts';
import { AppError } from '../../lib/errors.ts';
import { createJob } from '../../lib/jobs/create.ts';
import { createJobCoalesced } from '../../lib/jobs/create-coalesced.ts';
import type { CreateJob } from '../../lib/jobs/schemas.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

const job = (i: number, over: Partial<CreateJob> = {}): CreateJob => ({
  owner_service: 'svc',
  owner_ref: `r/${i}`,
  task_type: 't',
  model_profile: 'm',
  input: { n: i },
  ...over,
});

describe.each(DRIVERS.filter((d) => d !== 'neon'))('coalesced creates on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
  });
  afterAll(async () => {
    await t?.cleanup();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM ai_jobs');
  });

  /** The same database, counting the INSERT statements sent (a new handle: its own coalescer). */
  const counting = () => {
    const seen = { inserts: 0 };
    const q: Queryable = {
      query: (text, params) => {
        if (/^\s*INSERT/i.test(text)) seen.inserts++;
        return db.query(text, params);
      },
      exec: (sql) => db.exec(sql),
    };
    return { q, seen };
  };
  const count = async () =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs')).rows[0]!.n;

  it('creates 60 concurrent jobs with far fewer INSERT statements, each caller its own row', async () => {
    const { q, seen } = counting();
    const out = await Promise.all(Array.from({ length: 60 }, (_, i) => createJobCoalesced(q, job(i))));
    expect(out.map((o) => o.outcome)).toEqual(Array(60).fill('created'));
    expect(out.map((o) => o.job.owner_ref)).toEqual(Array.from({ length: 60 }, (_, i) => `r/${i}`));
    expect(out.map((o) => (o.job.input as { n: number }).n)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(new Set(out.map((o) => o.job.id)).size).toBe(60);
    expect(await count()).toBe(60);
    // Two go at once (nothing in flight), the other 58 wait and go as groups.
    expect(seen.inserts).toBeLessThanOrEqual(4);
    // Defaults as createJob applies them.
    expect(out[5]!.job).toMatchObject({ status: 'pending', priority: 0, max_attempts: 3, attempts: 0 });
  });

  it('one key sent 20 times at once, same job: one created, 19 existing, all the same id', async () => {
    const out = await Promise.all(
      Array.from({ length: 20 }, () => createJobCoalesced(db, job(1, { idempotency_key: 'k1' }))),
    );
    expect(out.filter((o) => o.outcome === 'created')).toHaveLength(1);
    expect(out.filter((o) => o.outcome === 'existing')).toHaveLength(19);
    expect(new Set(out.map((o) => o.job.id)).size).toBe(1);
    expect(await count()).toBe(1);
  });

  it('one key for different jobs at once: one created, the others idempotency_conflict naming it', async () => {
    const out = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => createJobCoalesced(db, job(i, { idempotency_key: 'k2' }))),
    );
    const ok = out.filter((o) => o.status === 'fulfilled');
    expect(ok).toHaveLength(1);
    const id = (ok[0] as PromiseFulfilledResult<{ outcome: string; job: { id: string } }>).value.job.id;
    for (const o of out.filter((x) => x.status === 'rejected')) {
      const err = (o as PromiseRejectedResult).reason as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(err.code).toBe('idempotency_conflict');
      expect(err.details).toEqual({ existing_id: id });
    }
    expect(await count()).toBe(1);
  });

  it('a key created earlier: existing for the same job, conflict for another, inside a group', async () => {
    const first = await createJob(db, job(7, { idempotency_key: 'old' }));
    const out = await Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) => createJobCoalesced(db, job(100 + i))),
      createJobCoalesced(db, job(7, { idempotency_key: 'old', priority: 5 })),
      createJobCoalesced(db, job(8, { idempotency_key: 'old' })),
    ]);
    expect(out.slice(0, 10).every((o) => o.status === 'fulfilled' && o.value.outcome === 'created')).toBe(
      true,
    );
    expect(out[10]).toMatchObject({
      status: 'fulfilled',
      value: { outcome: 'existing', job: { id: first.job.id } },
    });
    expect(out[11]).toMatchObject({ status: 'rejected', reason: { code: 'idempotency_conflict' } });
    expect(await count()).toBe(11);
  });

  it('groups stop at MAX_GROUP_BYTES of input: 6 creates of 400 KB, 4 of them waiting, take at least 4 INSERTs', async () => {
    const { q, seen } = counting();
    const big = 'x'.repeat(400_000);
    const out = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createJobCoalesced(q, job(i, { input: { big } }))),
    );
    expect(out.map((o) => o.outcome)).toEqual(Array(6).fill('created'));
    // 2 alone (nothing in flight), then the 4 waiting go at most 2 per statement.
    expect(seen.inserts).toBeGreaterThanOrEqual(4);
    expect(await count()).toBe(6);
  });

  it("an item the database rejects fails alone; its group's other members are created", async () => {
    const { q } = counting();
    const out = await Promise.allSettled([
      ...Array.from({ length: 8 }, (_, i) => createJobCoalesced(q, job(i))),
      // Past the schema's validation (a direct caller): violates CHECK (max_attempts >= 1).
      createJobCoalesced(q, job(99, { max_attempts: 0 })),
      ...Array.from({ length: 8 }, (_, i) => createJobCoalesced(q, job(200 + i))),
    ]);
    expect(out.filter((o) => o.status === 'rejected')).toHaveLength(1);
    expect(out[8]!.status).toBe('rejected');
    expect(await count()).toBe(16);
  });
});
