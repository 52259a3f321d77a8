// Fresh, migrated databases for tests, on each available driver:
//   pglite — always (loaded from a migrated template made once by test/global-setup.ts);
//   pg, neon — when TEST_DATABASE_URL points at a real server: each call creates its own
//   database there (so test files can run in parallel) and drops it afterwards. The neon
//   driver reaches it through a loopback WebSocket proxy.
import { readFile } from 'node:fs/promises';
import { WebSocket } from 'ws';
import { migrate } from '../../lib/db/migrations-fs.ts';
import { openNeon } from '../../lib/db/neon.ts';
import { openPg } from '../../lib/db/pg.ts';
import { openPglite } from '../../lib/db/pglite.ts';
import type { Db } from '../../lib/db/port.ts';
import { startWsProxy, type WsProxy } from './ws-proxy.ts';

export type DriverName = 'pglite' | 'pg' | 'neon';
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const hasServer = Boolean(TEST_DATABASE_URL);
export const PGLITE_TEMPLATE = '.data/test-template.tar.gz';

/** Drivers every repository contract test runs on. */
export const DRIVERS: DriverName[] = hasServer ? ['pglite', 'pg', 'neon'] : ['pglite'];

export interface TestDb {
  db: Db;
  driver: DriverName;
  /** Connection string of the database (pg/neon only): for child processes and extra pools. */
  url?: string;
  cleanup(): Promise<void>;
}

let counter = 0;
let proxy: WsProxy | undefined;

export async function createServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `aisvc_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const admin = openPg(TEST_DATABASE_URL, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = openPg(TEST_DATABASE_URL, { max: 1 });
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

export async function freshDb(
  driver: DriverName,
  opts: { migrate?: boolean; poolMax?: number } = {},
): Promise<TestDb> {
  const withSchema = opts.migrate ?? true;
  if (driver === 'pglite') {
    const tpl = withSchema ? new Blob([await readFile(PGLITE_TEMPLATE)]) : undefined;
    const db = await openPglite({ loadDataDir: tpl });
    return { db, driver, cleanup: () => db.close() };
  }
  const { url, drop } = await createServerDatabase();
  let db: Db;
  if (driver === 'pg') {
    db = openPg(url, { max: opts.poolMax ?? 10 });
  } else {
    const pg = new URL(url);
    proxy ??= await startWsProxy(pg.hostname, Number(pg.port || 5432));
    db = openNeon(url, {
      webSocketConstructor: WebSocket,
      wsProxy: proxy.address,
      secure: false,
      max: opts.poolMax,
    });
  }
  if (withSchema) await migrate(db);
  return {
    db,
    driver,
    url,
    async cleanup() {
      await db.close();
      await drop();
    },
  };
}
