// Queue burn-down: N pending jobs (≈200-byte input), a no-op handler, jobs/s from the
// first job in a worker's hands to the last completion being durable. Six systems, each
// on a fresh database per run, runs interleaved so drift on this shared machine hits all
// of them alike; ratios are between medians of the same invocation.
//
//   runner  our worker as shipped (startWorker from workers/worker.ts: the Runner, Prometheus metrics,
//           lease reaper) with an in-process no-op handler, LISTEN/NOTIFY on; probe server off
//   http    our HTTP API (Node adapter, own process) driven by external claim/complete loops
//   http-batch  the same API driven by the README's batched external-worker loop (issue 14):
//           one POST /api/v1/jobs/claim per k jobs that also completes the previous k
//   pg-boss / graphile-worker at their best settings (lib/peers.ts)
//   raw     plain pg loops: CTE UPDATE … FOR UPDATE SKIP LOCKED claims + batched completes
//   repo-loops  the raw loops' shape through our repository (claimJobs + completeMany): splits
//               the runner's gap to the raw limit into statement cost and orchestration
import pg from 'pg';
import { Pool } from 'undici';
import { loadConfig } from '../lib/config/load.ts';
import type { Queryable } from '../lib/db/port.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import { completeMany } from '../lib/jobs/lease.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import type { Handler } from '../workers/handler.ts';
import { startWorker } from '../workers/worker.ts';
import { enqueueOurs } from './enqueue.ts';
import { startServer } from './lib/child.ts';
import { countingDb, describeProfile, type QueryProfile } from './lib/counting.ts';
import { type CpuUse, describeCpu, startCpu } from './lib/cpu.ts';
import { ADMIN_URL, createDatabase, createMigrated } from './lib/db.ts';
import { INPUT_BYTES, TASK_TYPE } from './lib/jobs.ts';
import {
  analyze,
  bossRemaining,
  enqueueBoss,
  enqueueGraphile,
  GRAPHILE_RUN,
  graphileRemaining,
  graphileUtils,
  PGBOSS_WORK,
  startBoss,
  startGraphile,
} from './lib/peers.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian, sleep, until } from './lib/stats.ts';
import { check } from './lib/targets.ts';

export const SYSTEMS = [
  'runner',
  'http',
  'http-batch',
  'pg-boss',
  'graphile-worker',
  'raw',
  'repo-loops',
] as const;
export type System = (typeof SYSTEMS)[number];

/** Best settings found on this machine (see docs/BENCHMARKS.md, "settings"). */
export const RUNNER_SETTINGS = {
  claimLimit: 500,
  completeBatchMax: 500,
  completeDelayMs: 2,
  poolMax: 10,
  /** Workers (startWorker) in the one process, sharing the pool (1 = the product as shipped). */
  instances: 1,
};
export const HTTP_SETTINGS = { loops: 4, claimLimit: 100, connections: 16 };
/**
 * The batched loop: each request completes the previous claim's jobs and claims the next;
 * `settle: 'minimal'` asks for outcomes without the completed jobs (`"return": "minimal"`).
 */
export const HTTP_BATCH_SETTINGS: {
  loops: number;
  claimLimit: number;
  connections: number;
  settle: 'minimal' | 'full';
} = { loops: 4, claimLimit: 250, connections: 4, settle: 'minimal' };

/** How the API process of an HTTP burn-down is started (bench/external.ts: --base, --prof). */
export interface ApiServerOptions {
  /** Another checkout's bench/servers/api.ts (the code before a change, same run). */
  root?: string;
  nodeArgs?: string[];
}
export const RAW_SETTINGS = { loops: 4, claimLimit: 500 };
/** The raw loops' shape, but through our repository functions (claimJobs + completeMany). */
export const REPO_SETTINGS = { loops: 4, claimLimit: 500 };

const TOKEN = 'bench-token-0123456789';
/**
 * Largest burn-down the per-job HTTP loop runs at by default (an explicit `systems` list,
 * e.g. bench/external.ts --systems, runs it at any size; the short `npm run bench` passes 0).
 */
export const HTTP_PER_JOB_MAX_N = 20_000;

export interface BurnResult {
  ms: number;
  cpu?: CpuUse;
  /** Profile or check text for the report. */
  note?: string;
}

// ---- our runner -------------------------------------------------------------------

/**
 * Resolves when all n jobs' completions are committed: counted from the completion
 * statements' row counts as they return (precise, no extra queries), or — should those
 * statements change shape — by asking the database once every handler has run.
 */
export async function untilCompleted(
  db: Queryable,
  profile: QueryProfile,
  handled: () => number,
  n: number,
): Promise<void> {
  const written = () => (profile.get('completeMany')?.rows ?? 0) + (profile.get('completeJob')?.rows ?? 0);
  await until(() => written() >= n || handled() >= n, `the handlers to see ${n} jobs`, 600_000, 1);
  await until(
    async () =>
      written() >= n ||
      (
        await db.query<{ left: number }>(
          `SELECT count(*)::int AS left FROM ai_jobs WHERE status IN ('pending', 'running')`,
        )
      ).rows[0]!.left === 0,
    `the completions of ${n} jobs`,
    600_000,
    2,
  );
}

/** Burst options: `analyze: false` leaves ai_jobs without statistics (bench/burst.ts). */
export interface BurnOptions {
  analyze?: boolean;
}

/** Whether ai_jobs had statistics by the end of a run (autovacuum may have analyzed it). */
export async function statsState(db: Queryable): Promise<string> {
  const r = await db.query<{ manual: Date | null; auto: Date | null; auto_n: number; mod: number }>(
    `SELECT last_analyze AS manual, last_autoanalyze AS auto, autoanalyze_count::int AS auto_n,
            n_mod_since_analyze::int AS mod
     FROM pg_stat_user_tables WHERE relname = 'ai_jobs'`,
  );
  const x = r.rows[0];
  if (!x) return 'ai_jobs statistics: unknown';
  return `ai_jobs statistics at the end: ${x.manual ? 'manual ANALYZE' : 'no manual ANALYZE'}, autoanalyze ${x.auto_n}×, ${x.mod} rows changed since`;
}

export async function burnRunner(
  n: number,
  settings = RUNNER_SETTINGS,
  opts: BurnOptions = {},
): Promise<BurnResult> {
  const b = await createMigrated('burn_runner', settings.poolMax);
  try {
    await enqueueOurs(b.db, n);
    if (opts.analyze !== false) await analyze(b.url, 'ai_jobs');
    const { db, profile } = countingDb(b.db);
    let t0 = 0;
    let seen = 0;
    const noop: Handler = {
      name: 'bench-noop',
      taskTypes: [TASK_TYPE],
      modelProfiles: [],
      async run() {
        if (seen++ === 0) t0 = performance.now();
        return {};
      },
    };
    const cpu = await startCpu(ADMIN_URL, b.name);
    const workers = await Promise.all(
      Array.from({ length: settings.instances }, (_, i) =>
        startWorker(
          loadConfig({
            LOG_LEVEL: 'silent',
            DATABASE_URL: b.url,
            WORKER_ID: `bench-runner-${i}`,
            WORKER_CLAIM_LIMIT: String(settings.claimLimit),
          }),
          {
            db,
            handlers: [noop],
            probe: false,
            tuning: {
              completeBatchMax: settings.completeBatchMax,
              completeDelayMs: settings.completeDelayMs,
            },
          },
        ),
      ),
    );
    await untilCompleted(b.db, profile, () => seen, n);
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    await Promise.all(workers.map((w) => w.stop()));
    const stats = await statsState(b.db);
    const check = await b.db.query<{ done: number; span_ms: number }>(
      `SELECT count(*) FILTER (WHERE status = 'completed')::int AS done,
              (extract(epoch FROM max(finished_at) - min(started_at)) * 1000)::float8 AS span_ms FROM ai_jobs`,
    );
    const c = check.rows[0]!;
    if (c.done !== n) throw new Error(`runner: ${c.done} of ${n} jobs completed`);
    return {
      ms,
      cpu: use,
      note: `DB span ${c.span_ms.toFixed(0)} ms; ${describeCpu(use, n)}; ${describeProfile(profile, n)}; ${stats}`,
    };
  } finally {
    await b.drop();
  }
}

// ---- our HTTP API, external worker loops ------------------------------------------

export async function burnHttp(n: number, settings = HTTP_SETTINGS): Promise<BurnResult> {
  const b = await createMigrated('burn_http', 4);
  const api = await startServer('api.ts', {
    DATABASE_URL: b.url,
    AI_SERVICE_TOKEN: TOKEN,
    MIGRATE_ON_START: 'false',
  });
  const pool = new Pool(`http://127.0.0.1:${api.port}`, { connections: settings.connections });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
  try {
    await enqueueOurs(b.db, n);
    await analyze(b.url, 'ai_jobs');
    let t0 = 0;
    let requests = 0;
    let claims = 0;
    // A 5xx is retried (as any external worker would: claim and complete are safe to repeat
    // with the same lease token) and counted; the API process logs its cause on stderr.
    const serverErrors = new Map<string, number>();
    const post = async (path: string, body: unknown) => {
      for (let attempt = 0; ; attempt++) {
        requests++;
        const r = await pool.request({ path, method: 'POST', headers, body: JSON.stringify(body) });
        const json = (await r.body.json()) as any;
        if (r.statusCode === 200) return json;
        const key = `${r.statusCode} ${json?.error?.code ?? ''}`.trim();
        if (r.statusCode < 500 || attempt >= 5)
          throw new Error(`${path}: ${r.statusCode} ${JSON.stringify(json)}`);
        serverErrors.set(key, (serverErrors.get(key) ?? 0) + 1);
        await sleep(50 * (attempt + 1));
      }
    };
    const loop = async (w: number) => {
      const worker_id = `bench-http-${w}`;
      for (;;) {
        claims++;
        const { jobs } = (await post('/api/v1/jobs/claim', {
          worker_id,
          limit: settings.claimLimit,
          task_types: [TASK_TYPE],
        })) as { jobs: { id: string; lease_token: string }[] };
        if (jobs.length === 0) return;
        if (t0 === 0) t0 = performance.now();
        await Promise.all(
          jobs.map((j) =>
            post(`/api/v1/jobs/${j.id}/complete`, { worker_id, lease_token: j.lease_token, result: {} }),
          ),
        );
      }
    };
    const cpu = await startCpu(ADMIN_URL, b.name, api.proc.pid);
    await Promise.all(Array.from({ length: settings.loops }, (_, w) => loop(w)));
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    const done = await b.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'completed'`,
    );
    if (done.rows[0]!.n !== n) throw new Error(`http: ${done.rows[0]!.n} of ${n} jobs completed`);
    return {
      ms,
      cpu: use,
      note:
        `${describeCpu(use, n)}; ${requests} HTTP requests (${(requests / n).toFixed(3)}/job: one claim per ${settings.claimLimit} + one complete per job), ${claims} claims` +
        (serverErrors.size > 0
          ? `; server errors answered (then retried): ${[...serverErrors].map(([k, v]) => `${v}× ${k}`).join(', ')}`
          : ''),
    };
  } finally {
    await pool.close();
    await api.stop();
    await b.drop();
  }
}

// ---- our HTTP API, the README's batched external worker loop ----------------------

/**
 * Each loop is one external worker as the README teaches it: POST /api/v1/jobs/claim with
 * `complete: [the jobs it just finished]` and `limit: k` — one request and one transaction
 * per k jobs. The no-op handler returns `{}`; every complete outcome must be ok.
 */
export async function burnHttpBatch(
  n: number,
  settings = HTTP_BATCH_SETTINGS,
  server: ApiServerOptions = {},
): Promise<BurnResult> {
  const b = await createMigrated('burn_http_batch', 4);
  const api = await startServer(
    'api.ts',
    { DATABASE_URL: b.url, AI_SERVICE_TOKEN: TOKEN, MIGRATE_ON_START: 'false' },
    server,
  );
  const pool = new Pool(`http://127.0.0.1:${api.port}`, { connections: settings.connections });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
  try {
    await enqueueOurs(b.db, n);
    await analyze(b.url, 'ai_jobs');
    let t0 = 0;
    let requests = 0;
    let completed = 0;
    const serverErrors = new Map<string, number>();
    // A 5xx is retried with the same body: settling is idempotent for the holder (replays
    // answer ok) and a failed request settled nothing (one transaction).
    const post = async (path: string, body: unknown) => {
      for (let attempt = 0; ; attempt++) {
        requests++;
        const r = await pool.request({ path, method: 'POST', headers, body: JSON.stringify(body) });
        const json = (await r.body.json()) as any;
        if (r.statusCode === 200) return json;
        const key = `${r.statusCode} ${json?.error?.code ?? ''}`.trim();
        if (r.statusCode < 500 || attempt >= 5)
          throw new Error(`${path}: ${r.statusCode} ${JSON.stringify(json)}`);
        serverErrors.set(key, (serverErrors.get(key) ?? 0) + 1);
        await sleep(50 * (attempt + 1));
      }
    };
    type Done = { id: string; worker_id: string; lease_token: string; result: Record<string, unknown> };
    const loop = async (w: number) => {
      const worker_id = `bench-http-batch-${w}`;
      let done: Done[] = [];
      for (;;) {
        const r = (await post('/api/v1/jobs/claim', {
          worker_id,
          limit: settings.claimLimit,
          task_types: [TASK_TYPE],
          ...(done.length > 0 && { complete: done }),
          ...(settings.settle === 'minimal' && { return: 'minimal' }),
        })) as { jobs: { id: string; lease_token: string }[]; complete?: { outcome: string }[] };
        for (const o of r.complete ?? []) {
          if (o.outcome !== 'ok') throw new Error(`http-batch: a complete answered ${JSON.stringify(o)}`);
          completed++;
        }
        if (r.jobs.length === 0) return;
        if (t0 === 0) t0 = performance.now();
        // The handler: a no-op per job, its result kept for the next request.
        done = r.jobs.map((j) => ({ id: j.id, worker_id, lease_token: j.lease_token, result: {} }));
      }
    };
    const cpu = await startCpu(ADMIN_URL, b.name, api.proc.pid);
    await Promise.all(Array.from({ length: settings.loops }, (_, w) => loop(w)));
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    const rows = await b.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ai_jobs WHERE status = 'completed'`,
    );
    if (rows.rows[0]!.n !== n || completed !== n)
      throw new Error(`http-batch: ${rows.rows[0]!.n} of ${n} jobs completed (${completed} answered ok)`);
    return {
      ms,
      cpu: use,
      note:
        `${describeCpu(use, n)}; ${requests} HTTP requests (${(requests / n).toFixed(4)}/job: one claim+complete per ${settings.claimLimit}, return ${settings.settle})` +
        (serverErrors.size > 0
          ? `; server errors answered (then retried): ${[...serverErrors].map(([k, v]) => `${v}× ${k}`).join(', ')}`
          : ''),
    };
  } finally {
    await pool.close();
    await api.stop();
    await b.drop();
  }
}

// ---- pg-boss ------------------------------------------------------------------------

export async function burnPgBoss(n: number, work: object = PGBOSS_WORK): Promise<BurnResult> {
  const b = await createDatabase('burn_pgboss');
  const boss = await startBoss(b.url);
  const probe = new pg.Client({ connectionString: b.url });
  await probe.connect();
  try {
    await enqueueBoss(boss, n);
    await analyze(b.url);
    let t0 = 0;
    let seen = 0;
    const cpu = await startCpu(ADMIN_URL, b.name);
    await boss.work(TASK_QUEUE, { ...work }, async (jobs) => {
      if (seen === 0) t0 = performance.now();
      seen += jobs.length;
    });
    await until(() => seen >= n, `pg-boss handlers for ${n}`, 600_000, 1);
    await until(async () => (await bossRemaining(probe)) === 0, 'pg-boss completions', 600_000, 2);
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    return { ms, cpu: use, note: describeCpu(use, n) };
  } finally {
    await probe.end();
    await boss.stop({ graceful: false, close: true }).catch(() => {});
    await b.drop();
  }
}

// ---- graphile-worker ----------------------------------------------------------------

export async function burnGraphile(n: number): Promise<BurnResult> {
  const b = await createDatabase('burn_graphile');
  const utils = await graphileUtils(b.url);
  const probe = new pg.Client({ connectionString: b.url });
  await probe.connect();
  try {
    await enqueueGraphile(utils, n);
    await analyze(b.url);
    let t0 = 0;
    let seen = 0;
    const cpu = await startCpu(ADMIN_URL, b.name);
    const runner = await startGraphile(b.url, async () => {
      if (seen++ === 0) t0 = performance.now();
    });
    try {
      await until(() => seen >= n, `graphile-worker handlers for ${n}`, 600_000, 1);
      await until(
        async () => (await graphileRemaining(probe)) === 0,
        'graphile-worker completions',
        600_000,
        2,
      );
      const ms = performance.now() - t0;
      return { ms, note: describeCpu(await cpu.stop(), n) };
    } finally {
      await runner.stop();
    }
  } finally {
    await probe.end();
    await utils.release();
    await b.drop();
  }
}

// ---- the raw limit --------------------------------------------------------------------

/** The raw claim on `table` (bench/hot-table.ts runs it on a prototype hot table too). */
export const rawClaimSql = (table = 'ai_jobs') => `
WITH next AS (
  SELECT id FROM ${table}
  WHERE status = 'pending' AND run_after <= now()
  ORDER BY priority DESC, run_after, id
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
UPDATE ${table} AS j
SET status = 'running', worker_id = $2, lease_token = gen_random_uuid(), attempts = j.attempts + 1,
    lease_expires_at = now() + interval '15 minutes', started_at = now(), updated_at = now()
FROM next WHERE j.id = next.id
RETURNING j.id, j.input`;

const RAW_CLAIM = rawClaimSql();

export const RAW_COMPLETE = `
UPDATE ai_jobs SET status = 'completed', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
       result = '{}'::jsonb
WHERE id = ANY($1::uuid[]) AND status = 'running'`;

export async function burnRaw(
  n: number,
  settings = RAW_SETTINGS,
  /** SQL run after the enqueue (schema experiments: which index or trigger costs what). */
  opts: { alterSql?: string } = {},
): Promise<BurnResult> {
  const b = await createMigrated('burn_raw', 2);
  const clients = Array.from({ length: settings.loops }, () => new pg.Client({ connectionString: b.url }));
  try {
    await enqueueOurs(b.db, n);
    if (opts.alterSql) await b.db.exec(opts.alterSql);
    await analyze(b.url, 'ai_jobs');
    await Promise.all(clients.map((c) => c.connect()));
    let t0 = 0;
    let done = 0;
    const cpu = await startCpu(ADMIN_URL, b.name);
    const loop = async (c: pg.Client, w: number) => {
      for (;;) {
        const r = await c.query<{ id: string }>({
          name: 'raw_claim',
          text: RAW_CLAIM,
          values: [settings.claimLimit, `raw-${w}`],
        });
        if (r.rows.length === 0) return;
        if (t0 === 0) t0 = performance.now();
        const u = await c.query({
          name: 'raw_complete',
          text: RAW_COMPLETE,
          values: [r.rows.map((x) => x.id)],
        });
        done += u.rowCount ?? 0;
      }
    };
    await Promise.all(clients.map((c, w) => loop(c, w)));
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    if (done !== n) throw new Error(`raw: ${done} of ${n} jobs completed`);
    return { ms, cpu: use, note: describeCpu(use, n) };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await b.drop();
  }
}

// ---- the raw loops through our repository functions (profile: statement cost vs runner) ----

export async function burnRepoLoops(
  n: number,
  settings = REPO_SETTINGS,
  opts: BurnOptions & {
    /** Another claim in the same loop (bench/burst.ts: the round-one statement). */
    claim?: (db: Queryable, workerId: string, limit: number) => Promise<JobRow[]>;
  } = {},
): Promise<BurnResult> {
  const b = await createMigrated('burn_repo', settings.loops);
  const claim =
    opts.claim ??
    ((db: Queryable, workerId: string, limit: number) =>
      claimJobs(db, { workerId, limit, leaseMs: 15 * 60_000, taskTypes: [TASK_TYPE] }));
  try {
    await enqueueOurs(b.db, n);
    if (opts.analyze !== false) await analyze(b.url, 'ai_jobs');
    let t0 = 0;
    let done = 0;
    const cpu = await startCpu(ADMIN_URL, b.name);
    const loop = async (w: number) => {
      const workerId = `repo-${w}`;
      for (;;) {
        const jobs = await claim(b.db, workerId, settings.claimLimit);
        if (jobs.length === 0) return;
        if (t0 === 0) t0 = performance.now();
        const ok = await completeMany(
          b.db,
          jobs.map((j) => ({ id: j.id, workerId, leaseToken: j.lease_token!, result: {} })),
        );
        done += ok.size;
      }
    };
    await Promise.all(Array.from({ length: settings.loops }, (_, w) => loop(w)));
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    if (done !== n) throw new Error(`repo-loops: ${done} of ${n} jobs completed`);
    return { ms, cpu: use, note: `${describeCpu(use, n)}; ${await statsState(b.db)}` };
  } finally {
    await b.drop();
  }
}

const TASK_QUEUE = TASK_TYPE;

export const BURNERS: Record<System, (n: number) => Promise<BurnResult>> = {
  runner: (n) => burnRunner(n),
  http: (n) => burnHttp(n),
  'http-batch': (n) => burnHttpBatch(n),
  'pg-boss': (n) => burnPgBoss(n),
  'graphile-worker': burnGraphile,
  raw: (n) => burnRaw(n),
  'repo-loops': (n) => burnRepoLoops(n),
};

// ---- the scenario ------------------------------------------------------------------------

export async function burndown(opts: {
  sizes: number[];
  runs: number;
  systems?: readonly System[];
  /** Variants run alongside `systems`, interleaved with them (bench/external.ts A/B). */
  extra?: Record<string, (n: number) => Promise<BurnResult>>;
  /** How http-batch's API process starts (bench/external.ts --prof). */
  server?: ApiServerOptions;
  /** Largest size the per-job `http` loop runs at when `systems` is not given. */
  perJobHttpMaxN?: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const allSystems = opts.systems ?? SYSTEMS;
  const rows: Row[] = [];
  const notes: string[] = [
    `Input ${INPUT_BYTES} bytes of JSON per job. Settings — runner: claimLimit (WORKER_CLAIM_LIMIT) ${RUNNER_SETTINGS.claimLimit}, ` +
      `completion batches ≤ ${RUNNER_SETTINGS.completeBatchMax} after ≤ ${RUNNER_SETTINGS.completeDelayMs} ms, pool ${RUNNER_SETTINGS.poolMax}; ` +
      `http: ${HTTP_SETTINGS.loops} loops × claim(limit ${HTTP_SETTINGS.claimLimit}) then one POST …/complete per job, undici Pool ${HTTP_SETTINGS.connections} connections; ` +
      `http-batch: ${HTTP_BATCH_SETTINGS.loops} loops × POST /jobs/claim {limit ${HTTP_BATCH_SETTINGS.claimLimit}, complete: the previous claim's jobs}, undici Pool ${HTTP_BATCH_SETTINGS.connections} connections; ` +
      `pg-boss: ${JSON.stringify(PGBOSS_WORK)}; graphile-worker: ${JSON.stringify(GRAPHILE_RUN)}; ` +
      `raw: ${RAW_SETTINGS.loops} loops × claim ${RAW_SETTINGS.claimLimit} + one batched UPDATE per claim, prepared statements; ` +
      `repo-loops: ${REPO_SETTINGS.loops} loops × claimJobs(limit ${REPO_SETTINGS.claimLimit}) + completeMany, pool ${REPO_SETTINGS.loops}.`,
  ];
  for (const n of opts.sizes) {
    // The one-request-per-job loop is information (issue 14 replaced it with http-batch)
    // and the slowest system by 10×: above HTTP_PER_JOB_MAX_N it would take most of --full.
    const perJobMax = opts.perJobHttpMaxN ?? HTTP_PER_JOB_MAX_N;
    const chosen = opts.systems ? allSystems : allSystems.filter((s) => s !== 'http' || n <= perJobMax);
    const extra = opts.extra ?? {};
    const systems: string[] = [...chosen, ...Object.keys(extra)];
    const burner = (s: string) =>
      extra[s] ??
      (s === 'http-batch' && opts.server
        ? (k: number) => burnHttpBatch(k, HTTP_BATCH_SETTINGS, opts.server)
        : undefined) ??
      BURNERS[s as System];
    if (chosen.length < allSystems.length)
      notes.push(
        `burn-down ${n}: the per-job http loop (information) is not run ${perJobMax > 0 ? `above ${perJobMax} jobs` : 'in the short run'}.`,
      );
    const rates = new Map<string, number[]>(systems.map((s) => [s, []]));
    const lastNote = new Map<string, string>();
    const cpus = new Map<string, CpuUse[]>(systems.map((s) => [s, []]));
    for (let r = 0; r < opts.runs; r++) {
      // Rotate the order each run so no system always runs first (warm caches, drift).
      const order = systems.map((_, i) => systems[(i + r) % systems.length]!);
      for (const s of order) {
        let res: BurnResult;
        try {
          res = await burner(s)(n);
        } catch (e) {
          // One failed sample must not discard the others: say so and go on.
          const msg = e instanceof Error ? e.message : String(e);
          log(`  burndown n=${n} run ${r + 1}/${opts.runs} ${s}: FAILED ${msg}`);
          notes.push(`burn-down ${n} ${s} run ${r + 1}: FAILED — ${msg}`);
          continue;
        }
        const rate = n / (res.ms / 1000);
        rates.get(s)!.push(rate);
        if (res.note) lastNote.set(s, res.note);
        if (res.cpu) cpus.get(s)!.push(res.cpu);
        log(
          `  burndown n=${n} run ${r + 1}/${opts.runs} ${s}: ${rate.toFixed(0)} jobs/s (${res.ms.toFixed(0)} ms)`,
        );
        await sleep(500);
      }
    }
    const med = new Map([...rates].map(([s, xs]) => [s, midMedian(xs)]));
    const section = `burn-down ${n.toLocaleString('en-US')}`;
    for (const s of systems) rows.push(row(section, s, med.get(s)!, 'jobs/s', { runs: rates.get(s)! }));
    const ours = med.get('runner');
    const ratio = (a: string, b: string) => {
      const x = med.get(a);
      const y = med.get(b);
      return x !== undefined && y !== undefined ? x / y : null;
    };
    // Issue 14's targets; runner / pg-boss (round one's ≥ 2×) stays as information.
    if (ours !== undefined) {
      const vsBoss = ratio('runner', 'pg-boss');
      const vsGraphile = ratio('runner', 'graphile-worker');
      const vsRaw = ratio('runner', 'raw');
      if (vsGraphile !== null)
        rows.push(
          row(section, 'runner / graphile-worker', vsGraphile, '×', {
            target: check('runner-vs-graphile', '≥ 1.2×', vsGraphile >= 1.2),
          }),
        );
      if (vsRaw !== null)
        rows.push(
          row(section, 'runner / raw limit', vsRaw * 100, '%', {
            target: check('runner-vs-raw', '≥ 85 %', vsRaw >= 0.85),
          }),
        );
      if (vsBoss !== null) rows.push(row(section, 'runner / pg-boss', vsBoss, '×'));
    }
    const batchVsBoss = ratio('http-batch', 'pg-boss');
    if (batchVsBoss !== null)
      rows.push(
        row(section, 'http-batch / pg-boss', batchVsBoss, '×', {
          target: check('external-vs-pgboss', '≥ 1×', batchVsBoss >= 1),
        }),
      );
    for (const x of Object.keys(extra)) {
      const vsBoss = ratio(x, 'pg-boss');
      if (vsBoss !== null) rows.push(row(section, `${x} / pg-boss`, vsBoss, '×'));
      const vsBatch = ratio(x, 'http-batch');
      if (vsBatch !== null) rows.push(row(section, `${x} / http-batch`, vsBatch, '×'));
    }
    const repoVsRaw = ratio('repo-loops', 'raw');
    if (repoVsRaw !== null) rows.push(row(section, 'repo-loops / raw limit', repoVsRaw * 100, '%'));
    const httpVsRaw = ratio('http', 'raw');
    if (httpVsRaw !== null) rows.push(row(section, 'http / raw limit', httpVsRaw * 100, '%'));
    const httpVsBoss = ratio('http', 'pg-boss');
    if (httpVsBoss !== null) rows.push(row(section, 'http / pg-boss', httpVsBoss, '×'));
    for (const [s, note] of lastNote) notes.push(`burn-down ${n} ${s} (last run): ${note}`);
    // CPU per job moves less than jobs/s on a shared machine: its median over the runs.
    for (const [s, xs] of cpus) {
      if (xs.length === 0) continue;
      const med = (f: (c: CpuUse) => number | undefined) => {
        const v = xs.map(f).filter((x): x is number => x !== undefined);
        return v.length ? `${((midMedian(v) / n) * 1000).toFixed(1)}` : undefined;
      };
      const api = med((c) => c.childMs);
      notes.push(
        `burn-down ${n} ${s} CPU µs/job, median of ${xs.length} runs: ` +
          [
            ...(api !== undefined ? [`API server ${api}`] : []),
            `PostgreSQL ${med((c) => c.pgMs)}`,
            `this process ${med((c) => c.nodeMs)}`,
          ].join(', '),
      );
    }
  }
  return { rows, notes };
}
