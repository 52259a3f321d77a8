// A burst with no statistics (issue 14, "a claim whose speed does not depend on fresh
// statistics"): N jobs batch-created into a fresh database and burned down with NO manual
// ANALYZE, as a new user would, against the same run with ANALYZE. PostgreSQL on these
// machines runs with autovacuum off; the output says which it was (SHOW autovacuum) and
// whether ai_jobs had statistics by the end of each run.
//
//   repo        4 loops × claimJobs(limit 64) + completeMany, no ANALYZE
//   repo+an     the same after a manual ANALYZE ai_jobs
//   round-one   the same loops with the round-one claim statement, no ANALYZE (the plan
//               the issue saw: bitmap scan of every pending row + sort per claim)
//   runner      the built-in worker (startWorker, WORKER_CLAIM_LIMIT 64), no ANALYZE
//
//   npx tsx bench/burst.ts [--n 20000] [--runs 3] [--only repo,repo+an,round-one,runner]
//   (`npm run bench` runs the same as burstScenario: information rows, no target)
//   npx tsx bench/burst.ts explain [--n 200000]   EXPLAIN (ANALYZE, BUFFERS) of one claim
//                                                 (limit 64) right after the burst, no ANALYZE
//   npx tsx bench/burst.ts generic [--n 200000]   the claim as the pg driver runs it (a named
//                                                 prepared statement): its plan after 6
//                                                 executions (plan_cache_mode auto) and the
//                                                 generic plan forced, before and after ANALYZE

import pg from 'pg';
import type { Db, Queryable } from '../lib/db/port.ts';
import { CLAIM } from '../lib/jobs/claim.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import { EMPTY_POLICY } from '../lib/queues/policy.ts';
import { type BurnResult, burnRepoLoops, burnRunner, RUNNER_SETTINGS, statsState } from './burndown.ts';
import { enqueueOurs } from './enqueue.ts';
import { isMain } from './lib/cli.ts';
import { ADMIN_URL, createMigrated } from './lib/db.ts';
import { TASK_TYPE } from './lib/jobs.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { ROUND_ONE_CLAIM } from './lib/round-one.ts';
import { midMedian as median } from './lib/stats.ts';

const CLAIM_LIMIT = 64;
const LOOPS = 4;
const LEASE_MS = 15 * 60_000;

const roundOne = async (db: Queryable, workerId: string, limit: number) =>
  (await db.query<JobRow>(ROUND_ONE_CLAIM, [workerId, limit, [TASK_TYPE], [], LEASE_MS])).rows;

const VARIANTS = {
  repo: (n: number) => burnRepoLoops(n, { loops: LOOPS, claimLimit: CLAIM_LIMIT }, { analyze: false }),
  'repo+an': (n: number) => burnRepoLoops(n, { loops: LOOPS, claimLimit: CLAIM_LIMIT }, { analyze: true }),
  'round-one': (n: number) =>
    burnRepoLoops(n, { loops: LOOPS, claimLimit: CLAIM_LIMIT }, { analyze: false, claim: roundOne }),
  runner: (n: number) => burnRunner(n, { ...RUNNER_SETTINGS, claimLimit: CLAIM_LIMIT }, { analyze: false }),
} satisfies Record<string, (n: number) => Promise<BurnResult>>;
type Variant = keyof typeof VARIANTS;

export async function autovacuum(): Promise<string> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return (await c.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]!.autovacuum;
  } finally {
    await c.end();
  }
}

async function burn(n: number, runs: number, only: Variant[]): Promise<void> {
  console.log(`autovacuum = ${await autovacuum()} (SHOW autovacuum on ${new URL(ADMIN_URL).host})`);
  const out = new Map<Variant, { rate: number; pgUs: number }[]>(only.map((v) => [v, []]));
  for (let r = 0; r < runs; r++)
    for (let i = 0; i < only.length; i++) {
      const v = only[(i + r) % only.length]!; // rotate: no variant always runs first
      const res = await VARIANTS[v](n);
      const x = { rate: n / (res.ms / 1000), pgUs: res.cpu ? (res.cpu.pgMs / n) * 1000 : Number.NaN };
      out.get(v)!.push(x);
      console.error(
        `run ${r + 1} ${v}: ${x.rate.toFixed(0)} jobs/s, PG ${x.pgUs.toFixed(1)} µs/job; ${res.note}`,
      );
    }
  const base = out.get('repo+an');
  const baseRate = base?.length ? median(base.map((x) => x.rate)) : Number.NaN;
  const basePg = base?.length ? median(base.map((x) => x.pgUs)) : Number.NaN;
  console.log(
    `burst of ${n} jobs, ${LOOPS} loops × claim(limit ${CLAIM_LIMIT}) + completeMany (runner: WORKER_CLAIM_LIMIT ${CLAIM_LIMIT}), median of ${runs}:`,
  );
  for (const [v, xs] of out) {
    const rate = median(xs.map((x) => x.rate));
    const pgUs = median(xs.map((x) => x.pgUs));
    const vs = (a: number, b: number) => (Number.isNaN(b) ? '' : ` (${(a / b).toFixed(2)}× repo+an)`);
    console.log(
      `  ${v.padEnd(10)} ${rate.toFixed(0).padStart(6)} jobs/s${vs(rate, baseRate)}  PG ${pgUs.toFixed(1)} µs/job${vs(pgUs, basePg)}` +
        `  runs ${xs.map((x) => x.rate.toFixed(0)).join(', ')}`,
    );
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of one claim of each statement, rolled back, before and after ANALYZE. */
async function explain(n: number): Promise<void> {
  console.log(`autovacuum = ${await autovacuum()}`);
  const b = await createMigrated('burst_explain', 2);
  try {
    const t0 = performance.now();
    await enqueueOurs(b.db, n);
    console.log(
      `${n} jobs created in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${await statsState(b.db)}`,
    );
    const plan = async (db: Db, label: string, sql: string, params: unknown[]) => {
      await db
        .transaction(async (tx) => {
          const r = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
          console.log(`\n=== ${label}\n${r.rows.map((x) => x['QUERY PLAN']).join('\n')}`);
          throw new RollBack();
        })
        .catch((e) => {
          if (!(e instanceof RollBack)) throw e;
        });
    };
    const ours = ['explain', CLAIM_LIMIT, [TASK_TYPE], [], LEASE_MS, JSON.stringify(EMPTY_POLICY), 100, null];
    const one = ['explain', CLAIM_LIMIT, [TASK_TYPE], [], LEASE_MS];
    for (const when of ['no statistics', 'after ANALYZE ai_jobs']) {
      if (when !== 'no statistics') await b.db.query('ANALYZE ai_jobs');
      await plan(b.db, `claimJobs (lib/jobs/claim.ts), ${when}`, CLAIM, ours);
      await plan(b.db, `round-one claim, ${when}`, ROUND_ONE_CLAIM, one);
    }
  } finally {
    await b.drop();
  }
}

class RollBack extends Error {}

const LABELS: Record<Variant, string> = {
  repo: 'repo loops, no ANALYZE',
  'repo+an': 'repo loops, after ANALYZE',
  'round-one': 'round-one claim, no ANALYZE',
  runner: 'runner (built-in worker), no ANALYZE',
};

/**
 * The burst for `npm run bench` (information: issue 14 asks for the case, not a ratio):
 * every variant's jobs/s and PostgreSQL CPU per job, and both against repo + ANALYZE.
 */
export async function burstScenario(opts: {
  n: number;
  runs: number;
  only?: readonly Variant[];
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const only = opts.only ?? (Object.keys(VARIANTS) as Variant[]);
  const av = await autovacuum();
  const out = new Map<Variant, { rate: number; pgUs: number }[]>(only.map((v) => [v, []]));
  const last = new Map<Variant, string>();
  const notes: string[] = [];
  for (let r = 0; r < opts.runs; r++)
    for (let i = 0; i < only.length; i++) {
      const v = only[(i + r) % only.length]!;
      try {
        const res = await VARIANTS[v](opts.n);
        const x = {
          rate: opts.n / (res.ms / 1000),
          pgUs: res.cpu ? (res.cpu.pgMs / opts.n) * 1000 : Number.NaN,
        };
        out.get(v)!.push(x);
        if (res.note) last.set(v, res.note);
        log(
          `  burst n=${opts.n} run ${r + 1}/${opts.runs} ${v}: ${x.rate.toFixed(0)} jobs/s, PG ${x.pgUs.toFixed(1)} µs/job`,
        );
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log(`  burst n=${opts.n} run ${r + 1}/${opts.runs} ${v}: FAILED ${msg}`);
        notes.push(`burst ${v} run ${r + 1}: FAILED — ${msg}`);
      }
    }
  const section = `burst ${opts.n.toLocaleString('en-US')}, autovacuum ${av}`;
  const rows: Row[] = [];
  const med = (v: Variant, k: 'rate' | 'pgUs') => median((out.get(v) ?? []).map((x) => x[k]));
  for (const v of only) {
    rows.push(row(section, LABELS[v], med(v, 'rate'), 'jobs/s', { runs: out.get(v)!.map((x) => x.rate) }));
    rows.push(
      row(section, `${LABELS[v]}: PostgreSQL CPU`, med(v, 'pgUs'), 'µs/job', {
        runs: out.get(v)!.map((x) => x.pgUs),
      }),
    );
  }
  if (only.includes('repo+an'))
    for (const v of only.filter((x) => x !== 'repo+an'))
      rows.push(
        row(section, `${LABELS[v]} / repo after ANALYZE`, med(v, 'rate') / med('repo+an', 'rate'), '×'),
      );
  notes.push(
    `burst: ${opts.n} jobs batch-created, ${LOOPS} loops × claim(limit ${CLAIM_LIMIT}) + completeMany (runner: WORKER_CLAIM_LIMIT ${CLAIM_LIMIT}); ` +
      `SHOW autovacuum = ${av}. ${[...last].map(([v, note]) => `${v} (last run): ${note.split('; ').at(-1)}`).join('; ')}.`,
  );
  return { rows, notes };
}

/**
 * The claim prepared as the pg driver prepares it (one named statement per connection,
 * parameters typed by PostgreSQL), then EXPLAIN (ANALYZE, BUFFERS) EXECUTE of one claim,
 * rolled back: (a) after 6 executions under plan_cache_mode = auto, the plan a pooled
 * connection settles on, and (b) with force_generic_plan; each with no statistics and
 * after ANALYZE. A generic plan shows $n in place of the values.
 */
async function generic(n: number): Promise<void> {
  console.log(`autovacuum = ${await autovacuum()}`);
  const b = await createMigrated('burst_generic', 2);
  const c = new pg.Client({ connectionString: b.url, application_name: 'aisvc-bench' });
  await c.connect();
  try {
    await enqueueOurs(b.db, n);
    console.log(`${n} jobs created; ${await statsState(b.db)}`);
    const policy = JSON.stringify(EMPTY_POLICY);
    const values = ['explain', CLAIM_LIMIT, [TASK_TYPE], [], LEASE_MS, policy, 100, null];
    const lit = (v: unknown) =>
      v === null
        ? 'NULL'
        : Array.isArray(v)
          ? `'{${v.join(',')}}'`
          : typeof v === 'number'
            ? `${v}`
            : `'${v}'`;
    const rolledBack = async <T>(fn: () => Promise<T>): Promise<T> => {
      await c.query('BEGIN');
      try {
        return await fn();
      } finally {
        await c.query('ROLLBACK');
      }
    };
    const execute = () => c.query({ name: 'aisvc_claim_explain', text: CLAIM, values });
    const explainExecute = async (label: string) => {
      const r = await rolledBack(() =>
        c.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, BUFFERS) EXECUTE aisvc_claim_explain(${values.map(lit).join(', ')})`,
        ),
      );
      console.log(`\n=== ${label}\n${r.rows.map((x) => x['QUERY PLAN']).join('\n')}`);
    };
    for (const when of ['no statistics', 'after ANALYZE ai_jobs']) {
      if (when !== 'no statistics') {
        await b.db.query('ANALYZE ai_jobs');
        // A plan cached before ANALYZE is replanned on its next use (the statistics changed).
      }
      await c.query('SET plan_cache_mode = auto');
      for (let i = 0; i < 6; i++) await rolledBack(execute);
      await explainExecute(`prepared claim, plan_cache_mode auto after 6 executions, ${when}`);
      await c.query('SET plan_cache_mode = force_generic_plan');
      await explainExecute(`prepared claim, force_generic_plan, ${when}`);
      const s = await c.query<{ generic_plans: number; custom_plans: number }>(
        `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'aisvc_claim_explain'`,
      );
      console.log(`pg_prepared_statements: ${JSON.stringify(s.rows[0])}`);
    }
  } finally {
    await c.end();
    await b.drop();
  }
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const n = Number(flag('--n') ?? (args[0] === 'explain' || args[0] === 'generic' ? 200_000 : 20_000));
  if (args[0] === 'explain') await explain(n);
  else if (args[0] === 'generic') await generic(n);
  else
    await burn(
      n,
      Number(flag('--runs') ?? 3),
      (flag('--only')?.split(',') ?? Object.keys(VARIANTS)).map((v) => {
        if (!(v in VARIANTS)) throw new Error(`unknown variant ${v}`);
        return v as Variant;
      }),
    );
}
