// Fresh databases on the local PostgreSQL, one per measured run, named aisvc_bench_*.
// Each is dropped (WITH FORCE) after its run; leftovers of a crashed run whose process
// is gone are dropped on the next start.
import pg from 'pg';
import { migrate } from '../../lib/db/migrations-fs.ts';
import { openPg } from '../../lib/db/pg.ts';
import type { Db } from '../../lib/db/port.ts';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const PREFIX = 'aisvc_bench_';

let counter = 0;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL, application_name: 'aisvc-bench-admin' });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface BenchDb {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createDatabase(tag: string): Promise<BenchDb> {
  const name = `${PREFIX}${process.pid}_${tag.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${counter++}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

/** A fresh database with our migrations applied, and a pg pool on it. */
export async function createMigrated(tag: string, poolMax = 10): Promise<BenchDb & { db: Db }> {
  const bdb = await createDatabase(tag);
  const db = openPg(bdb.url, { max: poolMax, applicationName: 'aisvc-bench' });
  await migrate(db);
  return {
    ...bdb,
    db,
    async drop() {
      await db.close().catch(() => {});
      await bdb.drop();
    },
  };
}

/** Runs fn on a fresh database and always drops it. */
export async function withDatabase<T>(tag: string, fn: (b: BenchDb) => Promise<T>): Promise<T> {
  const b = await createDatabase(tag);
  try {
    return await fn(b);
  } finally {
    await b.drop().catch((e) => console.error(`could not drop ${b.name}: ${e}`));
  }
}

export async function withMigrated<T>(
  tag: string,
  fn: (b: BenchDb & { db: Db }) => Promise<T>,
  poolMax = 10,
): Promise<T> {
  const b = await createMigrated(tag, poolMax);
  try {
    return await fn(b);
  } finally {
    await b.drop().catch((e) => console.error(`could not drop ${b.name}: ${e}`));
  }
}

/** Drops aisvc_bench_<pid>_* databases whose process no longer exists. */
export async function dropStale(): Promise<string[]> {
  return admin(async (c) => {
    const r = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE '${PREFIX}%'`,
    );
    const dropped: string[] = [];
    for (const { datname } of r.rows) {
      const pid = Number(/^aisvc_bench_(\d+)_/.exec(datname)?.[1]);
      if (!pid || pid === process.pid || alive(pid)) continue;
      await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      dropped.push(datname);
    }
    return dropped;
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Server facts for the report. */
export async function serverInfo(): Promise<Record<string, string>> {
  return admin(async (c) => {
    const out: Record<string, string> = {};
    out.version = (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    for (const s of [
      'shared_buffers',
      'work_mem',
      'synchronous_commit',
      'max_connections',
      'fsync',
      'autovacuum',
    ]) {
      out[s] = (await c.query<Record<string, string>>(`SHOW ${s}`)).rows[0]![s]!;
    }
    return out;
  });
}
