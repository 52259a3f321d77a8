// node-postgres pool over TCP: the driver for Kubernetes pods, workers and CI.
import pg from 'pg';
import type { Db, QueryResult } from './port.ts';
import { preparedName } from './prepared.ts';
import { inTransaction } from './transaction.ts';

// timestamptz → Date is pg's default; keep int8 (only counts use it) as numbers: our
// counts never approach 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

// pg parses each timestamptz text with regular expressions, and the texts of one answer
// mostly repeat: every row a statement writes shares its now() (a claim of 500 jobs
// carries 1,000 copies of it, and 500 of one lease end). The instant of recently seen
// texts is remembered and each value still gets a Date of its own; the cache is dropped
// whole when it grows.
const TIMESTAMPTZ = 1184;
const parseTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ);
const instants = new Map<string, number>();
pg.types.setTypeParser(TIMESTAMPTZ, (text: string) => {
  let ms = instants.get(text);
  if (ms === undefined) {
    const parsed: unknown = parseTimestamptz(text);
    if (!(parsed instanceof Date)) return parsed; // ±infinity (a number) or null
    ms = parsed.getTime();
    if (instants.size >= 1024) instants.clear();
    instants.set(text, ms);
  }
  return new Date(ms);
});

export interface PgOptions {
  max?: number;
  /** Called for errors on idle clients (e.g. the server restarted); the pool replaces them. */
  onError?: (err: Error) => void;
  applicationName?: string;
}

export function openPg(url: string, opts: PgOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    // TCP keepalive so a black-holed server (network partition) is noticed, not waited on.
    keepAlive: true,
    application_name: opts.applicationName ?? 'ai-service',
  });
  // Without a listener an idle client's error (server restart) would crash the process.
  pool.on('error', (err) => opts.onError?.(err));

  const stale = new Set<string>();
  // Statements marked with prepared() go as named statements: parsed and planned once
  // per connection (node-postgres remembers which names each connection has), on the
  // pool and inside transactions alike (the claim runs in both).
  const run = async <T>(
    target: pg.Pool | pg.PoolClient,
    text: string,
    params: readonly unknown[] | undefined,
    inTx: boolean,
  ): Promise<QueryResult<T>> => {
    const name = preparedName(text);
    if (name && !stale.has(name)) {
      try {
        const r = await target.query({ name, text, values: params as unknown[] | undefined });
        return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
      } catch (err) {
        // "cached plan must not change result type": a migration changed the table under
        // a prepared `SELECT *`/`RETURNING *` (a rolling deploy). The statement did not
        // run; from now on this process sends it unprepared. Inside a transaction the
        // error has aborted it: the caller sees the error and repeats the whole request.
        if ((err as { code?: string }).code !== '0A000') throw err;
        stale.add(name);
        if (inTx) throw err;
      }
    }
    const r = await target.query(text, params as unknown[] | undefined);
    return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
  };
  const query = <T>(text: string, params?: readonly unknown[]) => run<T>(pool, text, params, false);

  return {
    driver: 'pg',
    query,
    async exec(sql) {
      await pool.query(sql);
    },
    transaction: (fn) =>
      inTransaction(async () => {
        const client = await pool.connect();
        return {
          query: (text, params) => run(client, text, params, true),
          release: (destroy) => client.release(destroy),
          on: (event, listener) => client.on(event, listener),
          removeListener: (event, listener) => client.removeListener(event, listener),
        };
      }, fn),
    async listen(channel, onNotify, onLost) {
      // A dedicated client: LISTEN is per session, and a pooled client would lose it.
      const client = new pg.Client({
        connectionString: url,
        application_name: 'ai-service-listen',
        connectionTimeoutMillis: 10_000,
        keepAlive: true,
      });
      // Once the session is up, its death ('error' then 'end', or only 'end' when the
      // server closes cleanly) is reported exactly once, unless we closed it ourselves.
      let up = false;
      let closing = false;
      let reported = false;
      const lost = (err?: Error) => {
        if (!up || closing || reported) return;
        reported = true;
        onLost?.(err);
      };
      client.on('error', (err) => {
        opts.onError?.(err);
        lost(err);
      });
      client.on('end', () => lost());
      client.on('notification', (n) => {
        if (n.channel === channel) onNotify(n.payload ?? '');
      });
      try {
        await client.connect();
        await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      } catch (err) {
        closing = true;
        await client.end().catch(() => {});
        throw err;
      }
      up = true;
      return async () => {
        closing = true;
        await client.end().catch(() => {});
      };
    },
    async close() {
      await pool.end();
    },
  };
}
