// What the per-minute rollup of finished jobs (migration 013's triggers) costs the write
// path: the repository loops, with and without the triggers, alternated in one invocation
// (fresh database each, same code). Per variant and run: CPU of PostgreSQL's backends and
// of this process per job, and jobs/s, for
//   batch   claimJobs(limit 100) + completeMany, over `n` jobs (the runner's shape);
//   single  claimJobs(limit 1) + completeJob, over n/10 jobs (one job per statement: the
//           trigger's fixed cost per statement shows most here).
// "without" drops migration 013's triggers and restores migration 003's insert trigger:
// the schema as of migration 012.
//   npx tsx bench/rollup-cost.ts [--n 20000] [--runs 3]
import { parseArgs } from 'node:util';
import pg from 'pg';
import { claimJobs } from '../lib/jobs/claim.ts';
import { completeJob, completeMany } from '../lib/jobs/lease.ts';
import { enqueueOurs } from './enqueue.ts';
import { TICK_MS, ticks } from './lib/cpu.ts';
import { ADMIN_URL, createMigrated } from './lib/db.ts';
import { TASK_TYPE } from './lib/jobs.ts';
import { midMedian } from './lib/stats.ts';

const { values } = parseArgs({ options: { n: { type: 'string' }, runs: { type: 'string' } } });
const N = Number(values.n ?? 20_000);
const RUNS = Number(values.runs ?? 3);
const LEASE_MS = 15 * 60_000;

const WITHOUT = `
DROP TRIGGER ai_jobs_roll_up_updated ON ai_jobs;
DROP TRIGGER ai_jobs_roll_up_deleted ON ai_jobs;
DROP TRIGGER ai_jobs_roll_up_truncated ON ai_jobs;
DROP TRIGGER ai_jobs_notify_insert ON ai_jobs;
CREATE TRIGGER ai_jobs_notify_insert AFTER INSERT ON ai_jobs
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION ai_jobs_notify_inserted();`;

type Variant = 'without' | 'with';

/**
 * CPU of the database's own client backends only (not the WAL writer, checkpointer or
 * autovacuum, which other sessions on this shared server also drive) and of this process.
 */
async function backendCpu(database: string) {
  const c = new pg.Client({ connectionString: ADMIN_URL, application_name: 'aisvc-bench-cpu' });
  await c.connect();
  const pids = async () =>
    (
      await c.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        [database],
      )
    ).rows.map((x) => x.pid);
  const start = new Map<number, number>();
  for (const p of await pids()) start.set(p, ticks(p) ?? 0);
  const t0 = performance.now();
  const node0 = process.cpuUsage();
  return {
    async stop() {
      const wallMs = performance.now() - t0;
      const node = process.cpuUsage(node0);
      let t = 0;
      for (const p of await pids()) t += (ticks(p) ?? 0) - (start.get(p) ?? 0);
      await c.end();
      return { pgMs: t * TICK_MS, nodeMs: (node.user + node.system) / 1000, wallMs };
    },
  };
}
interface Figures {
  pgUs: number;
  nodeUs: number;
  perS: number;
}

async function run(variant: Variant, shape: 'batch' | 'single'): Promise<Figures> {
  const b = await createMigrated(`rollup_${variant}`, 2);
  try {
    if (variant === 'without') await b.db.exec(WITHOUT);
    const n = shape === 'batch' ? N : Math.round(N / 10);
    await enqueueOurs(b.db, n);
    await b.db.exec('ANALYZE ai_jobs');
    // warm the pool's connections and plans
    await claimJobs(b.db, { workerId: 'warm', limit: 1, leaseMs: LEASE_MS, taskTypes: ['none'] });
    const cpu = await backendCpu(b.name);
    let done = 0;
    const limit = shape === 'batch' ? 100 : 1;
    for (;;) {
      const jobs = await claimJobs(b.db, { workerId: 'w', limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE] });
      if (jobs.length === 0) break;
      const refs = jobs.map((j) => ({
        id: j.id,
        leaseToken: j.lease_token!,
        workerId: 'w',
        result: { ok: true },
      }));
      if (shape === 'batch') done += (await completeMany(b.db, refs)).size;
      else {
        await completeJob(b.db, refs[0]!, refs[0]!.result);
        done++;
      }
    }
    const use = await cpu.stop();
    const rolled = await b.db.query<{ n: number }>(
      'SELECT coalesce(sum(jobs), 0)::int AS n FROM ai_job_finishes',
    );
    if (rolled.rows[0]!.n !== (variant === 'with' ? done : 0)) throw new Error('rollup count is off');
    return {
      pgUs: (use.pgMs / done) * 1000,
      nodeUs: (use.nodeMs / done) * 1000,
      perS: done / (use.wallMs / 1000),
    };
  } finally {
    await b.drop();
  }
}

const { loadavg } = await import('node:os');
console.log(
  `rollup-cost: n=${N}, runs=${RUNS}; load average at start ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const shape of ['batch', 'single'] as const) {
  const out: Record<Variant, Figures[]> = { without: [], with: [] };
  for (let r = 0; r < RUNS; r++) {
    // Alternate which goes first, so a drift in the machine's load hits both.
    const order: Variant[] = r % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
    for (const v of order) {
      const f = await run(v, shape);
      out[v].push(f);
      console.log(
        `  ${shape} ${v} run ${r + 1}: PostgreSQL ${f.pgUs.toFixed(1)} µs/job, node ${f.nodeUs.toFixed(1)} µs/job, ${f.perS.toFixed(0)} jobs/s`,
      );
    }
  }
  const med = (v: Variant, k: keyof Figures) => midMedian(out[v].map((f) => f[k]));
  console.log(
    `${shape}: PostgreSQL µs/job without ${med('without', 'pgUs').toFixed(1)} / with ${med('with', 'pgUs').toFixed(1)} ` +
      `(${((med('with', 'pgUs') / med('without', 'pgUs') - 1) * 100).toFixed(1)} %); node ${med('without', 'nodeUs').toFixed(1)} / ${med('with', 'nodeUs').toFixed(1)}; ` +
      `jobs/s ${med('without', 'perS').toFixed(0)} / ${med('with', 'perS').toFixed(0)} (${((med('with', 'perS') / med('without', 'perS')) * 100).toFixed(1)} %)`,
  );
}
console.log(
  `load average at end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
