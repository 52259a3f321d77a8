// BEGIN … COMMIT on one pooled connection, shared by the pg and Neon drivers (both pools
// speak node-postgres' client API). The rule that matters: a connection whose ROLLBACK
// failed is in an unknown state (still inside the transaction, or dead) and must be
// destroyed, never handed back to the pool, where the next caller would run its
// statements inside our aborted transaction. PGlite has its own transaction API.
import type { Queryable, QueryResult } from './port.ts';

/** The part of a pooled client (pg.PoolClient, Neon's PoolClient) a transaction uses. */
export interface PooledClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  /** `true` (or an Error) destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean | Error): void;
  /** The client's own 'error' event (both drivers' clients are EventEmitters). */
  on?(event: 'error', listener: (err: Error) => void): unknown;
  removeListener?(event: 'error', listener: (err: Error) => void): unknown;
}

export async function inTransaction<T>(
  connect: () => Promise<PooledClient>,
  fn: (tx: Queryable) => Promise<T>,
): Promise<T> {
  const client = await connect();
  let broken = false;
  // A checked-out client has no pool listener for 'error': a connection that dies between
  // statements (a PostgreSQL restart) would raise an uncaught exception and take the
  // process down. Here it marks the client broken; the next statement fails on its own.
  const onError = () => {
    broken = true;
  };
  client.on?.('error', onError);
  const tx: Queryable = {
    query: async <R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
      const r = await client.query(text, params as unknown[] | undefined);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    exec: async (sql) => {
      await client.query(sql);
    },
  };
  try {
    await client.query('BEGIN');
    const out = await fn(tx);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    client.removeListener?.('error', onError);
    client.release(broken);
  }
}
