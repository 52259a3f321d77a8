// Embedded PostgreSQL (PGlite, in-process WASM): the default on a fresh machine so
// `npm start` and `npm test` need no server. One connection, so queries are serialised
// by PGlite itself; transactions use its own exclusive transaction API.
import { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult } from './port.ts';

export interface PgliteOptions {
  /** Directory for the data (undefined = in memory). */
  dataDir?: string;
  /** A tarball produced by dumpDataDir(): loading it is ~10x faster than initdb. */
  loadDataDir?: Blob | File;
}

export async function openPglite(opts: PgliteOptions = {}): Promise<Db & { pglite: PGlite }> {
  const pglite = await PGlite.create({ dataDir: opts.dataDir, loadDataDir: opts.loadDataDir });
  const wrap =
    (q: Pick<PGlite, 'query'>) =>
    async <T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
      const r = await q.query<T>(text, params as unknown[] | undefined);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    };
  return {
    driver: 'pglite',
    pglite,
    query: wrap(pglite),
    async exec(sql) {
      await pglite.exec(sql);
    },
    transaction: (fn) =>
      pglite.transaction((tx) =>
        fn({
          query: wrap(tx),
          exec: async (sql) => {
            await tx.exec(sql);
          },
        } satisfies Queryable),
      ),
    async listen(channel, onNotify) {
      const unsub = await pglite.listen(channel, onNotify);
      return async () => {
        await unsub();
      };
    },
    async close() {
      await pglite.close();
    },
  };
}
