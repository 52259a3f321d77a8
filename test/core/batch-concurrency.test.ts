// Concurrent batch creates sharing idempotency keys, on real PostgreSQL (PGlite is one
// connection): rows are inserted in key order, so batches that name the same keys in
// different orders wait for each other instead of deadlocking; each key ends as one job,
// created by exactly one batch and `existing` for the others; a batch with a conflicting
// key writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../lib/db/port.ts';
import type { AppError } from '../../lib/errors.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import type { CreateJob } from '../../lib/jobs/schemas.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

const job = (key: string, input: Record<string, unknown> = { key }): CreateJob => ({
  owner_service: 'bench',
  owner_ref: `r/${key}`,
  task_type: 'noop',
  model_profile: 'none',
  input,
  idempotency_key: key,
});

/** A deterministic shuffle (xorshift), so a failure repeats. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe.skipIf(!hasServer)('concurrent batch creates on real PostgreSQL', () => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb('pg', { poolMax: 10 });
    db = t.db;
  });
  afterAll(async () => t?.cleanup());

  it('8 batches naming the same 300 keys in different orders: no deadlock, one job per key', async () => {
    await db.query('DELETE FROM ai_jobs');
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    for (let round = 0; round < 3; round++) {
      const batches = Array.from({ length: 8 }, (_, b) =>
        // Each batch: its own keys plus a shuffled half of the shared ones.
        shuffled([...keys.filter((_, i) => (i + b) % 2 === 0), `own-${round}-${b}`], round * 8 + b + 1),
      );
      const out = await Promise.all(
        batches.map((ks) =>
          createJobs(
            db,
            ks.map((k) => job(k)),
          ),
        ),
      );
      const idOf = new Map<string, string>();
      const created = new Map<string, number>();
      for (const [b, results] of out.entries()) {
        for (const [i, r] of results.entries()) {
          const k = batches[b]![i]!;
          expect(r.job.idempotency_key).toBe(k);
          if (idOf.has(k)) expect(r.job.id).toBe(idOf.get(k));
          idOf.set(k, r.job.id);
          if (r.outcome === 'created') created.set(k, (created.get(k) ?? 0) + 1);
        }
      }
      // Created once each: in this round by one batch, or in an earlier round (then by none).
      for (const [k, n] of created) expect(n, k).toBe(1);
      for (let b = 0; b < 8; b++) expect(created.get(`own-${round}-${b}`)).toBe(1);
    }
    const r = await db.query<{ n: number; keys: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS keys FROM ai_jobs',
    );
    expect(r.rows[0]).toEqual({ n: 300 + 24, keys: 300 + 24 });
  }, 60_000);

  it('racing batches where one key names different jobs: the losing batch writes nothing', async () => {
    await db.query('DELETE FROM ai_jobs');
    for (let round = 0; round < 5; round++) {
      const a = [job(`a${round}`), job(`shared${round}`, { from: 'a' }), job(`x${round}`)];
      const b = [job(`x${round}`), job(`b${round}`), job(`shared${round}`, { from: 'b' })];
      const [ra, rb] = await Promise.allSettled([createJobs(db, a), createJobs(db, b)]);
      const won = [ra, rb].filter((r) => r.status === 'fulfilled');
      const lost = [ra, rb].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(won).toHaveLength(1);
      expect((lost[0]!.reason as AppError).code).toBe('idempotency_conflict');
      const loser = ra.status === 'rejected' ? 'a' : 'b';
      const rows = await db.query<{ idempotency_key: string }>(
        'SELECT idempotency_key FROM ai_jobs WHERE idempotency_key LIKE $1 ORDER BY 1',
        [`%${round}`],
      );
      const winnerKeys = (loser === 'a' ? b : a).map((j) => j.idempotency_key!).sort();
      expect(rows.rows.map((x) => x.idempotency_key)).toEqual(winnerKeys);
    }
  }, 60_000);
});
