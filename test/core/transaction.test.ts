// Issue 10, defect 5: pg and Neon share one transaction helper (lib/db/transaction.ts).
// A transaction whose connection died under it cannot be rolled back; that connection
// must be destroyed, not returned to the pool, or the next caller is handed a dead (or
// still-in-a-transaction) connection. With a pool of one connection, the very next query
// shows which happened.
import { afterEach, describe, expect, it } from 'vitest';
import { inTransaction, type PooledClient } from '../../lib/db/transaction.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

describe.skipIf(!hasServer).each(['pg', 'neon'] as const)('transactions on %s', (driver) => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('commits on return, rolls back on throw', async () => {
    t = await freshDb(driver, { migrate: false, poolMax: 1 });
    const { db } = t;
    await db.exec('CREATE TABLE tx_t (n int)');
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO tx_t VALUES (1)');
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO tx_t VALUES (2)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await db.query<{ n: number }>('SELECT n FROM tx_t')).rows).toEqual([{ n: 1 }]);
  });

  it('a connection that died inside a transaction is not handed to the next caller', async () => {
    t = await freshDb(driver, { migrate: false, poolMax: 1 });
    const { db } = t;
    const killed = db.transaction(async (tx) => {
      // The server ends this session (as a restart or an idle killer would): ROLLBACK fails.
      await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
    });
    await expect(killed).rejects.toThrow();
    // The pool's only connection was the dead one: the next query must get a fresh one.
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.transaction(async (tx) => {
      expect((await tx.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });
});

describe('inTransaction', () => {
  // The one case a live server cannot be made to produce on demand: ROLLBACK fails on a
  // connection that still looks alive. Whatever the reason, it must not go back to the pool.
  it('destroys the connection when ROLLBACK fails, returns it otherwise', async () => {
    const released: unknown[] = [];
    const client = (failOn: string[]): PooledClient => ({
      async query(text) {
        if (failOn.includes(text)) throw new Error(`${text} failed`);
        return { rows: [], rowCount: 0 };
      },
      release: (destroy) => released.push(destroy ?? false),
    });
    await inTransaction(
      async () => client([]),
      async () => 'ok',
    );
    await expect(
      inTransaction(
        async () => client(['SELECT 1']),
        (tx) => tx.query('SELECT 1'),
      ),
    ).rejects.toThrow('SELECT 1 failed');
    await expect(
      inTransaction(
        async () => client(['SELECT 1', 'ROLLBACK']),
        (tx) => tx.query('SELECT 1'),
      ),
    ).rejects.toThrow('SELECT 1 failed');
    expect(released).toEqual([false, false, true]);
  });
});
