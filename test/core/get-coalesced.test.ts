// Coalesced primary-key reads (lib/jobs/get-coalesced.ts): concurrent reads share
// statements, and each caller still gets exactly its own job, or null.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../../lib/db/port.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import { getJobCoalesced } from '../../lib/jobs/get-coalesced.ts';
import { uuidv7 } from '../../lib/jobs/ids.ts';
import { DRIVERS, freshDb, type TestDb } from '../support/db.ts';

describe.each(DRIVERS.filter((d) => d !== 'neon'))('coalesced reads on %s', (driver) => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb(driver);
    db = t.db;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const counting = () => {
    const seen = { selects: 0 };
    const q: Queryable = {
      query: (text, params) => {
        if (/^\s*SELECT/i.test(text)) seen.selects++;
        return db.query(text, params);
      },
      exec: (sql) => db.exec(sql),
    };
    return { q, seen };
  };

  it('80 concurrent reads (repeated ids, unknown ids) in a few statements, each its own answer', async () => {
    const made = await createJobs(
      db,
      Array.from({ length: 20 }, (_, i) => ({
        owner_service: 's',
        owner_ref: `r/${i}`,
        task_type: 't',
        model_profile: 'm',
        input: { i },
      })),
    );
    const unknown = Array.from({ length: 5 }, () => uuidv7());
    const asks = Array.from({ length: 80 }, (_, i) => (i % 8 === 7 ? unknown[i % 5]! : made[i % 20]!.job.id));
    const { q, seen } = counting();
    const got = await Promise.all(asks.map((id) => getJobCoalesced(q, id)));
    asks.forEach((id, i) => {
      if (unknown.includes(id)) expect(got[i]).toBeNull();
      else {
        expect(got[i]?.id).toBe(id);
        const n = made.findIndex((m) => m.job.id === id);
        expect(got[i]?.owner_ref).toBe(`r/${n}`);
        expect(got[i]?.input).toEqual({ i: n });
      }
    });
    expect(seen.selects).toBeLessThanOrEqual(4);
  });

  it('a read started after a create committed sees it, also inside a group', async () => {
    const { q } = counting();
    const busy = Array.from({ length: 10 }, () => getJobCoalesced(q, uuidv7()));
    const [made] = await createJobs(db, [
      { owner_service: 's', owner_ref: 'fresh', task_type: 't', model_profile: 'm', input: {} },
    ]);
    const again = await Promise.all([getJobCoalesced(q, made!.job.id), ...busy]);
    expect(again[0]?.owner_ref).toBe('fresh');
  });

  it('a failing statement fails every read of its group, and the next reads work', async () => {
    let fail = true;
    const q: Queryable = {
      query: (text, params) => (fail ? Promise.reject(new Error('connection lost')) : db.query(text, params)),
      exec: (sql) => db.exec(sql),
    };
    const out = await Promise.allSettled(Array.from({ length: 6 }, () => getJobCoalesced(q, uuidv7())));
    expect(out.every((o) => o.status === 'rejected')).toBe(true);
    fail = false;
    expect(await getJobCoalesced(q, uuidv7())).toBeNull();
  });
});
