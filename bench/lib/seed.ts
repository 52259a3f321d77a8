// Bulk rows for the scale scenario: INSERT … SELECT generate_series straight into our
// ai_jobs table (the migrated schema, every index and trigger in place), with a realistic
// mix over the last 30 days: ~90 % completed, 6 % failed, 3 % cancelled, 0.1 % pending,
// 0.1 % running. Ids are UUID v7 built from each row's created_at, so id order is creation
// order as in production (the random part is md5(i): repeatable, and cheap to make).
// Owners: 5 services × 40,000 refs, ≈5 jobs per owner at 1M.
//
// fastLoad() wraps a large load: the table's indexes (and the constraints and foreign
// keys that hang on them) are dropped first and built once after, then ANALYZE — loading
// 10M rows into a fully indexed table would maintain ten B-trees row by row.
import { openPg } from '../../lib/db/pg.ts';
import type { Db } from '../../lib/db/port.ts';
import { TICK_MS, ticks } from './cpu.ts';

export const OWNER_SERVICES = ['telephony', 'monitoring-tg', 'crm', 'search', 'support'];
export const OWNER_REFS = 40_000;

// A UUID v7 for the row's created_at: 48 bits of milliseconds, version 7, then bits from
// md5(i) (variant 10). Written out in the statement — a SQL function is not inlined when
// VOLATILE and gen_random_uuid() costs ~5 µs a call here, together most of a 10M load.
const UUIDV7_OF = (ts: string, salt: string) =>
  `(lpad(to_hex(floor(extract(epoch FROM ${ts}) * 1000)::bigint), 12, '0') || '7' || substr(${salt}, 1, 3) || '8' || substr(${salt}, 4, 15))::uuid`;

export interface SeedOptions {
  /** Rows are created over the last `spanSecs` seconds (default 30 days). */
  spanSecs?: number;
  /** Rows per statement. */
  chunk?: number;
  /** Statements in flight at once (each on its own connection of `db`'s pool). */
  parallel?: number;
}

const THIRTY_DAYS_S = 30 * 86_400;

/** Inserts rows numbered [from, to) in chunks (one statement per chunk). */
export async function seedJobs(db: Db, from: number, to: number, opts: SeedOptions = {}): Promise<void> {
  const chunk = opts.chunk ?? 100_000;
  const span = Math.max(1, Math.round(opts.spanSecs ?? THIRTY_DAYS_S));
  const starts: number[] = [];
  for (let a = from; a < to; a += chunk) starts.push(a);
  const next = () => starts.shift();
  const stream = async () => {
    for (let a = next(); a !== undefined; a = next()) await insertChunk(db, a, Math.min(to, a + chunk), span);
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? 1) }, stream));
}

async function insertChunk(db: Db, a: number, b: number, span: number): Promise<void> {
  await db.query(
    `
WITH g AS (
  SELECT i, ((i::bigint * 7919) % 1000)::int AS r, (i / 5) % ${OWNER_REFS} AS ref,
         now() - make_interval(secs => ((i::bigint * 48271) % $4::bigint)::double precision) AS created
  FROM generate_series($1::int, $2::int - 1) AS i
), s AS (
  SELECT g.*, CASE WHEN r < 900 THEN 'completed' WHEN r < 960 THEN 'failed' WHEN r < 990 THEN 'cancelled'
                   WHEN r < 998 THEN 'completed' WHEN r = 998 THEN 'running' ELSE 'pending' END AS status,
         (ARRAY['llm_chat', 'transcribe', 'call_analysis'])[1 + i % 3] AS task_type,
         (i % 5000) + 200 AS dur
  FROM g
)
INSERT INTO ai_jobs (id, owner_service, owner_ref, task_type, model_profile, input, result, status, priority,
                     run_after, attempts, max_attempts, worker_id, lease_token, lease_expires_at, error_category,
                     error_message, created_at, updated_at, started_at, finished_at, duration_ms)
SELECT ${UUIDV7_OF('created', 'md5(i::text)')},
       ($3::text[])[1 + i % 5],
       'call/' || ref,
       task_type,
       CASE WHEN task_type = 'transcribe' THEN 'whisperx' ELSE 'qwen2.5-14b' END,
       jsonb_build_object('system', 'You are a strict classifier.',
                          'user', 'Classify the sentiment of this message as JSON. Message #' || i || ': the delivery was late.',
                          'max_tokens', 64, 'call_id', 'c-' || i),
       CASE WHEN status = 'completed' THEN jsonb_build_object('content', '{"label":"neutral"}', 'model', 'qwen2.5-14b',
                                                               'usage', jsonb_build_object('total_tokens', 120 + i % 50)) END,
       status,
       0,
       created,
       CASE WHEN status = 'pending' THEN 0 WHEN status = 'failed' THEN 3 ELSE 1 END,
       3,
       CASE WHEN status = 'pending' THEN NULL ELSE 'worker-' || (i % 8) END,
       CASE WHEN status = 'pending' THEN NULL ELSE md5(i::text || '/lease')::uuid END,
       CASE WHEN status = 'running' THEN now() + interval '15 minutes' END,
       CASE WHEN status = 'failed' THEN (ARRAY['provider_unavailable', 'timeout', 'invalid_input', 'provider_error'])[1 + i % 4] END,
       CASE WHEN status = 'failed' THEN 'upstream said no' END,
       created,
       created + make_interval(secs => dur / 1000.0),
       CASE WHEN status = 'pending' THEN NULL ELSE created END,
       CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN created + make_interval(secs => dur / 1000.0) END,
       CASE WHEN status IN ('completed', 'failed') THEN dur END
FROM s`,
    [a, b, OWNER_SERVICES, span],
  );
}

/** The owner of row i (as seedJobs assigns it). */
export function ownerOf(i: number): { owner_service: string; owner_ref: string } {
  return { owner_service: OWNER_SERVICES[i % 5]!, owner_ref: `call/${Math.floor(i / 5) % OWNER_REFS}` };
}

/** An owner with at least one of the first `loaded` rows. */
export const randomOwner = (loaded: number) => ownerOf(Math.floor(Math.random() * loaded));

/** Jobs that finished within the last `windowMs` (what jobStats' window reads). */
export async function finishedWithin(db: Db, windowMs = 3_600_000): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ai_jobs
     WHERE finished_at > now() - make_interval(secs => $1::double precision / 1000)`,
    [windowMs],
  );
  return r.rows[0]!.n;
}

export interface FastLoadTimes {
  insertS: number;
  /** CPU of the loading backends during the insert (null when /proc cannot tell): steadier than wall time. */
  insertCpuS: number | null;
  indexS: number;
  analyzeS: number;
  indexes: number;
}

/**
 * Runs `load` with every index of ai_jobs dropped — constraints backed by an index and
 * the foreign keys that point at ai_jobs too — and its triggers disabled, then rebuilds
 * the indexes from their own definitions (`parallel` at a time), enables the triggers
 * and runs ANALYZE. `load` gets a pool of `parallel` connections (for seedJobs'
 * `parallel`), each with synchronous_commit off and maintenance_work_mem 512 MB for its
 * session only. Nothing else may use the table meanwhile.
 */
export async function fastLoad(
  url: string,
  load: (db: Db) => Promise<void>,
  parallel = 2,
): Promise<FastLoadTimes> {
  const u = new URL(url);
  u.searchParams.set('options', '-c synchronous_commit=off -c maintenance_work_mem=512MB');
  const db = openPg(u.toString(), { max: parallel, applicationName: 'aisvc-bench-load' });
  try {
    const fks = (
      await db.query<{ tbl: string; name: string; def: string }>(
        `SELECT conrelid::regclass::text AS tbl, conname AS name, pg_get_constraintdef(oid) AS def
         FROM pg_constraint WHERE confrelid = 'ai_jobs'::regclass AND contype = 'f'`,
      )
    ).rows;
    const constraints = (
      await db.query<{ name: string; def: string }>(
        `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
         WHERE conrelid = 'ai_jobs'::regclass AND contype IN ('p', 'u', 'x') ORDER BY contype, conname`,
      )
    ).rows;
    const indexes = (
      await db.query<{ name: string; def: string }>(
        `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = 'ai_jobs'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
         ORDER BY c.relname`,
      )
    ).rows;
    const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
    for (const f of fks) await db.exec(`ALTER TABLE ${f.tbl} DROP CONSTRAINT ${q(f.name)}`);
    for (const c of constraints) await db.exec(`ALTER TABLE ai_jobs DROP CONSTRAINT ${q(c.name)}`);
    for (const i of indexes) await db.exec(`DROP INDEX ${q(i.name)}`);
    // The INSERT trigger only NOTIFYs workers (none listen here), but its transition
    // table copies every inserted row: ~20 % of the load.
    await db.exec('ALTER TABLE ai_jobs DISABLE TRIGGER USER');

    const cpu = await loaderCpu(db, parallel);
    const t0 = performance.now();
    await load(db);
    const t1 = performance.now();
    const insertCpuS = cpu();
    await db.exec('ALTER TABLE ai_jobs ENABLE TRIGGER USER');
    // The primary key first, alone (ADD CONSTRAINT locks the table); then the plain
    // indexes side by side (CREATE INDEX takes a SHARE lock: builds do not block each other).
    for (const c of constraints) await db.exec(`ALTER TABLE ai_jobs ADD CONSTRAINT ${q(c.name)} ${c.def}`);
    const defs = indexes.map((i) => i.def);
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let d = defs.shift(); d !== undefined; d = defs.shift()) await db.exec(d);
      }),
    );
    for (const f of fks) await db.exec(`ALTER TABLE ${f.tbl} ADD CONSTRAINT ${q(f.name)} ${f.def}`);
    const t2 = performance.now();
    await db.exec('ANALYZE ai_jobs');
    const t3 = performance.now();
    return {
      insertS: (t1 - t0) / 1000,
      insertCpuS,
      indexS: (t2 - t1) / 1000,
      analyzeS: (t3 - t2) / 1000,
      indexes: constraints.length + indexes.length,
    };
  } finally {
    await db.close();
  }
}

/**
 * CPU seconds the pool's backends spend from now until the returned function is called.
 * The pool's connections are opened (and held together once, so each is a different
 * one) to learn their backend pids.
 */
async function loaderCpu(db: Db, connections: number): Promise<() => number | null> {
  const pids = new Set<number>();
  // pg_sleep holds each connection while the others are asked, so all `connections` answer.
  const r = await Promise.all(
    Array.from({ length: connections }, () =>
      db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)'),
    ),
  );
  for (const x of r) pids.add(x.rows[0]!.pid);
  const sum = () => {
    let total = 0;
    for (const p of pids) {
      const t = ticks(p);
      if (t === null) return null;
      total += t;
    }
    return total;
  };
  const t0 = sum();
  return () => {
    const t1 = sum();
    return t0 === null || t1 === null ? null : ((t1 - t0) * TICK_MS) / 1000;
  };
}
