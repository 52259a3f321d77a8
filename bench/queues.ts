// Queue control benchmarks (issue 11), on the local PostgreSQL, one fresh database per run:
//
//   burndown  the repo-loops shape (4 loops × claim(limit 500) + completeMany, 20k jobs from
//             one or two owner_services) through these claims, runs interleaved and rotated:
//               round-one  the claim statement before issue 11 (one UPDATE … SKIP LOCKED, no control)
//               two-stmt   the first queue-control claim (a transaction of two statements),
//                          nothing configured; two-stmt+limits: with LIMITS below
//               control    today's claim (one statement), nothing configured (reap + register
//                          + fair order); the pg driver runs it as a named prepared statement
//               unprepared the same statement text sent unnamed (parsed and planned on every
//                          call, as before the claim was prepared)
//               limits     today's claim with a (non-binding) profile limit and owner weights:
//                          every claim takes the group lock and counts what the group runs
//               claim-010  the claim before branch claim-speed2 (bench/lib/claim-010.ts:
//                          unnamed, migration 010's controls); claim-010+limits: with LIMITS
//   fairness  two callers, one with 10,000 queued jobs and one with 100 arriving later, on
//             8 slots; every job takes 10 ticks of a virtual clock (no sleeps): per tick,
//             finished jobs complete and free slots are claimed. Reports the later caller's
//             wait (ticks) under fair claims and under the round-one claim (FIFO).
//
//   controls  ai_claim_controls alone (the part of the claim that limits cost), migration 010's
//             and 011's, with nothing configured and with LIMITS, at a fixed state (20,000
//             pending, --running 1,500 running): PostgreSQL CPU per call, blocks interleaved
//
//   latency   one claim of 4 jobs right after their create, p50/p90 per claim variant;
//             --backlog N: first N pending jobs of another caller ("bulk") and ANALYZE (a
//             queue under load, with statistics as autovacuum leaves them in production)
//
//   npx tsx bench/queues.ts [burndown|latency|fairness|controls] [--runs 3] [--n 20000] [--owners 2]
//                           [--samples 200] [--backlog 0] [--running 1500] [--calls 500]
//                           [--only control,limits]
//
// `npm run bench` runs the burndown of `control` against `limits` (queuesScenario below):
// issue 11's target, limits + fairness within 10 % of the same run without them.
import pg from 'pg';
import type { Db, Queryable } from '../lib/db/port.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import { createJobs } from '../lib/jobs/create.ts';
import { completeMany } from '../lib/jobs/lease.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import type { CreateJob } from '../lib/jobs/schemas.ts';
import { queuePolicy } from '../lib/queues/policy.ts';
import { claim010, installClaim010 } from './lib/claim-010.ts';
import { isMain } from './lib/cli.ts';
import { startCpu, ticks } from './lib/cpu.ts';
import { ADMIN_URL, createMigrated } from './lib/db.ts';
import { benchInput, MODEL_PROFILE, TASK_TYPE } from './lib/jobs.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { ROUND_ONE_CLAIM } from './lib/round-one.ts';
import { claimRoundTwo } from './lib/round-two.ts';
import { midMedian } from './lib/stats.ts';
import { check } from './lib/targets.ts';

export type Variant =
  | 'round-one'
  | 'two-stmt'
  | 'two-stmt+limits'
  | 'claim-010'
  | 'claim-010+limits'
  | 'control'
  | 'unprepared'
  | 'limits';
type Claim = (db: Db, workerId: string, limit: number) => Promise<JobRow[]>;

const LEASE_MS = 15 * 60_000;
// A profile limit never reached (but enforced: group lock and running count on every
// claim) and owner weights: every rule of queue control on, none binding.
const LIMITS = queuePolicy({
  PROFILE_LIMITS: { [MODEL_PROFILE]: 1_000_000 },
  OWNER_WEIGHTS: { 'caller-a': 2 },
});
// The claim's text with a suffix is not the text prepared() marked: the driver sends it unnamed.
const unnamed = (db: Db): Queryable => ({
  query: (text, params) => db.query(`${text}\n-- unprepared`, params),
  exec: (sql) => db.exec(sql),
});
const claims: Record<Variant, Claim> = {
  'round-one': async (db, workerId, limit) =>
    (await db.query<JobRow>(ROUND_ONE_CLAIM, [workerId, limit, [TASK_TYPE], [], LEASE_MS])).rows,
  'two-stmt': async (db, workerId, limit) =>
    (await claimRoundTwo(db, { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE] })).jobs,
  'two-stmt+limits': async (db, workerId, limit) =>
    (await claimRoundTwo(db, { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE], policy: LIMITS }))
      .jobs,
  'claim-010': (db, workerId, limit) =>
    claim010(db, { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE] }),
  'claim-010+limits': (db, workerId, limit) =>
    claim010(db, { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE], policy: LIMITS }),
  control: (db, workerId, limit) =>
    claimJobs(db, { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE] }),
  unprepared: (db, workerId, limit) =>
    claimJobs(unnamed(db), { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE] }),
  limits: (db, workerId, limit) =>
    claimJobs(db, { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE], policy: LIMITS }),
};

const job = (i: number, owner: string): CreateJob => ({
  owner_service: owner,
  owner_ref: `ref-${i}`,
  task_type: TASK_TYPE,
  model_profile: MODEL_PROFILE,
  input: benchInput(i),
});

async function enqueue(db: Db, n: number, owner: (i: number) => string, from = 0): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const size = Math.min(1000, n - i);
    await createJobs(
      db,
      Array.from({ length: size }, (_, k) => job(from + i + k, owner(from + i + k))),
    );
  }
}

export interface Burn {
  jobsPerS: number;
  /** CPU per job of the PostgreSQL backends and of this process: steadier than wall time here. */
  pgUs: number;
  nodeUs: number;
}

export async function burn(variant: Variant, n: number, owners: number): Promise<Burn> {
  const b = await createMigrated(`q_${variant.replace(/\W/g, '_')}`, 4);
  try {
    if (variant.startsWith('claim-010')) await installClaim010(b.db);
    await enqueue(b.db, n, (i) => (owners > 1 && i % 2 ? 'caller-b' : 'caller-a'));
    await b.db.query('ANALYZE ai_jobs');
    let done = 0;
    const cpu = await startCpu(ADMIN_URL, b.name);
    const t0 = performance.now();
    const loop = async (w: number) => {
      for (;;) {
        const jobs = await claims[variant](b.db, `q-${w}`, 500);
        if (jobs.length === 0) return;
        const ok = await completeMany(
          b.db,
          jobs.map((j) => ({ id: j.id, workerId: `q-${w}`, leaseToken: j.lease_token!, result: {} })),
        );
        done += ok.size;
      }
    };
    await Promise.all([0, 1, 2, 3].map(loop));
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    if (done !== n) throw new Error(`${variant}: ${done} of ${n} completed`);
    return { jobsPerS: (n / ms) * 1000, pgUs: (use.pgMs / n) * 1000, nodeUs: (use.nodeMs / n) * 1000 };
  } finally {
    await b.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1]!;

async function burndown(n: number, runs: number, owners: number, only: Variant[]): Promise<void> {
  const out = Object.fromEntries(only.map((v) => [v, [] as Burn[]])) as Record<Variant, Burn[]>;
  for (let r = 0; r < runs; r++)
    for (let i = 0; i < only.length; i++) {
      const v = only[(i + r) % only.length]!; // rotate: no variant always runs first
      const x = await burn(v, n, owners);
      out[v].push(x);
      console.error(
        `run ${r + 1} ${v}: ${x.jobsPerS.toFixed(0)} jobs/s, PG ${x.pgUs.toFixed(1)} µs/job, node ${x.nodeUs.toFixed(1)} µs/job`,
      );
    }
  const m = (v: Variant, k: keyof Burn) => (out[v]?.length ? median(out[v].map((x) => x[k])) : Number.NaN);
  const d = (v: Variant, base: Variant, k: keyof Burn) =>
    Number.isNaN(m(base, k)) ? '—' : `${((m(v, k) / m(base, k) - 1) * 100).toFixed(1)} %`;
  // Paired: the ratio within each round (the two ran back to back), then the median of
  // those ratios; load that drifts between rounds cancels out.
  const paired = (v: Variant, base: Variant, k: keyof Burn) => {
    const rs = out[v].map((x, r) => x[k] / out[base][r]![k]);
    return `${((median(rs) - 1) * 100).toFixed(1)} %`;
  };
  console.log(
    `burn-down, ${n} jobs from ${owners} owner_service(s), 4 loops × claim(500) + completeMany, median of ${runs}` +
      ' (Δ vs round-one; limits vs control and X+limits vs X: the cost of limits + weights, target ≤ 10 %):',
  );
  for (const v of only) {
    const pair =
      v === 'limits' ? 'control' : v.endsWith('+limits') ? (v.slice(0, -'+limits'.length) as Variant) : null;
    console.log(
      `  ${v.padEnd(17)} ${m(v, 'jobsPerS').toFixed(0).padStart(6)} jobs/s (${d(v, 'round-one', 'jobsPerS')})  ` +
        `PG ${m(v, 'pgUs').toFixed(1)} µs/job (${d(v, 'round-one', 'pgUs')})  node ${m(v, 'nodeUs').toFixed(1)} µs/job` +
        (pair && out[pair]?.length
          ? `  vs ${pair}: ${d(v, pair, 'jobsPerS')} jobs/s, ${d(v, pair, 'pgUs')} PG µs/job` +
            ` (paired: ${paired(v, pair, 'jobsPerS')}, ${paired(v, pair, 'pgUs')})`
          : '') +
        `  runs ${out[v].map((x) => x.jobsPerS.toFixed(0)).join(', ')} jobs/s`,
    );
  }
}

/**
 * One small claim's latency (limit 4, right after 4 jobs were created), each variant on
 * its own database, samples interleaved across the variants so load drift hits all alike.
 */
async function latency(samples: number, only: Variant[], backlog: number): Promise<void> {
  const dbs = await Promise.all(only.map((v) => createMigrated(`q_lat_${v.replace(/\W/g, '_')}`, 2)));
  try {
    for (let i = 0; i < only.length; i++)
      if (only[i]!.startsWith('claim-010')) await installClaim010(dbs[i]!.db);
    if (backlog > 0)
      for (const { db } of dbs) {
        await enqueue(db, backlog, () => 'bulk', -backlog);
        await db.query('ANALYZE ai_jobs');
      }
    const out = only.map(() => [] as number[]);
    for (let s = 0; s < samples; s++)
      for (let i = 0; i < only.length; i++) {
        const db = dbs[i]!.db;
        await enqueue(db, 4, () => 'caller-a', s * 4);
        const t0 = performance.now();
        const jobs = await claims[only[i]!](db, 'lat', 4);
        out[i]!.push(performance.now() - t0);
        if (jobs.length !== 4) throw new Error(`${only[i]}: claimed ${jobs.length} of 4`);
        await completeMany(
          db,
          jobs.map((j) => ({ id: j.id, workerId: 'lat', leaseToken: j.lease_token!, result: {} })),
        );
      }
    console.log(
      `one claim of 4 jobs right after their create, ${samples} samples per claim, interleaved` +
        (backlog > 0 ? ` (behind a backlog of ${backlog} from another caller, ANALYZEd):` : ' (no ANALYZE):'),
    );
    for (let i = 0; i < only.length; i++)
      console.log(
        `  ${only[i]!.padEnd(15)} p50 ${pct(out[i]!, 50).toFixed(2)} ms  p90 ${pct(out[i]!, 90).toFixed(2)} ms`,
      );
  } finally {
    await Promise.all(dbs.map((b) => b.drop()));
  }
}

/**
 * The controls function alone: it writes nothing, so the state it reads stays the same
 * however often it runs. Each call is its own transaction (the advisory locks end with it).
 */
async function controls(running: number, calls: number, rounds: number): Promise<void> {
  const b = await createMigrated('q_controls', 4);
  const c = new pg.Client({ connectionString: b.url, application_name: 'aisvc-bench' });
  try {
    await installClaim010(b.db);
    await enqueue(b.db, 20_000, (i) => (i % 2 ? 'caller-b' : 'caller-a'));
    await b.db.query('ANALYZE ai_jobs');
    for (let left = running; left > 0; left -= 500)
      await claimJobs(b.db, { workerId: 'hold', limit: Math.min(500, left), leaseMs: LEASE_MS });
    await c.connect();
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const empty = JSON.stringify(queuePolicy({}));
    const variants = [
      ['010, nothing configured', 'ai_claim_controls_010', empty],
      ['010, limits', 'ai_claim_controls_010', JSON.stringify(LIMITS)],
      ['011, nothing configured', 'ai_claim_controls', empty],
      ['011, limits', 'ai_claim_controls', JSON.stringify(LIMITS)],
    ] as const;
    const out = variants.map(() => [] as number[]);
    const call = (fn: string, policy: string) =>
      c.query({
        name: fn,
        text: `SELECT * FROM ${fn}($1::text[], $2::text[], $3::jsonb, $4::int)`,
        values: [[TASK_TYPE], [], policy, 500],
      });
    for (const [, fn, policy] of variants) for (let i = 0; i < 20; i++) await call(fn, policy); // warm: compiled, plans cached
    for (let r = 0; r < rounds; r++)
      for (let i = 0; i < variants.length; i++) {
        const [, fn, policy] = variants[(i + r) % variants.length]!;
        const t0 = ticks(pid)!;
        for (let k = 0; k < calls; k++) await call(fn, policy);
        out[(i + r) % variants.length]!.push((((ticks(pid)! - t0) * 10) / calls) * 1000);
      }
    console.log(
      `ai_claim_controls alone, claim limit 500, ${running} running of the limited profile, ` +
        `${rounds} blocks of ${calls} calls per variant, interleaved: PostgreSQL CPU per call (median of blocks)`,
    );
    for (let i = 0; i < variants.length; i++)
      console.log(
        `  ${variants[i]![0].padEnd(26)} ${median(out[i]!).toFixed(0).padStart(5)} µs/call  blocks ${out[i]!.map((x) => x.toFixed(0)).join(', ')}`,
      );
  } finally {
    await c.end().catch(() => {});
    await b.drop();
  }
}

const SLOTS = 8;
const TICKS_PER_JOB = 10;

/** Later caller's waits, in ticks, with `claim` deciding who gets each free slot. */
async function fairnessRun(variant: 'round-one' | 'control'): Promise<{ waits: number[]; ticks: number }> {
  const b = await createMigrated(`q_fair_${variant}`, 2);
  try {
    await enqueue(b.db, 10_000, () => 'bulk');
    const running: { j: JobRow; until: number }[] = [];
    const arrived = new Map<string, number>();
    const waits: number[] = [];
    let tick = 0;
    for (; waits.length < 100; tick++) {
      if (tick === 50) {
        await enqueue(b.db, 100, () => 'later', 10_000);
        for (const r of (
          await b.db.query<{ id: string }>(`SELECT id FROM ai_jobs WHERE owner_service = 'later'`)
        ).rows)
          arrived.set(r.id, tick);
      }
      const finished = running.filter((r) => r.until <= tick);
      if (finished.length)
        await completeMany(
          b.db,
          finished.map(({ j }) => ({ id: j.id, workerId: 'sim', leaseToken: j.lease_token!, result: {} })),
        );
      for (const f of finished) running.splice(running.indexOf(f), 1);
      const free = SLOTS - running.length;
      if (free > 0) {
        for (const j of await claims[variant](b.db, 'sim', free)) {
          running.push({ j, until: tick + TICKS_PER_JOB });
          const at = arrived.get(j.id);
          if (at !== undefined) waits.push(tick - at);
        }
      }
    }
    return { waits, ticks: tick };
  } finally {
    await b.drop();
  }
}

async function fairness(): Promise<void> {
  // Fair share for the later caller: half the slots, so its k-th job starts after about
  // (k / (SLOTS / 2)) × TICKS_PER_JOB ticks; its p95 under a perfect fair share ≈ 95 / 4 × 10.
  const ideal = Array.from({ length: 100 }, (_, k) => Math.floor(k / (SLOTS / 2)) * TICKS_PER_JOB);
  console.log(
    `fairness: 10,000 queued by "bulk", 100 by "later" at tick 50; ${SLOTS} slots, ${TICKS_PER_JOB} ticks/job`,
  );
  console.log(
    `  ideal fair share   p50 ${pct(ideal, 50)}  p95 ${pct(ideal, 95)}  max ${pct(ideal, 100)} ticks`,
  );
  for (const v of ['control', 'round-one'] as const) {
    const { waits } = await fairnessRun(v);
    console.log(
      `  ${v === 'control' ? 'fair claim' : 'round-one (FIFO)'}`.padEnd(20) +
        ` p50 ${pct(waits, 50)}  p95 ${pct(waits, 95)}  max ${pct(waits, 100)} ticks` +
        `  (p95 = ${(pct(waits, 95) / pct(ideal, 95)).toFixed(2)} × fair share)`,
    );
  }
}

/**
 * Issue 11's target for `npm run bench`: the burn-down through today's claim with every
 * rule of queue control on (`limits`) against the same claim with nothing configured
 * (`control`), runs interleaved and rotated; jobs/s of both, their ratio, and the
 * PostgreSQL and Node CPU per job (steadier than wall time on this shared machine).
 */
export async function queuesScenario(opts: {
  n: number;
  runs: number;
  owners?: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const owners = opts.owners ?? 2;
  const variants = ['control', 'limits'] as const;
  const out = { control: [] as Burn[], limits: [] as Burn[] };
  const notes: string[] = [];
  for (let r = 0; r < opts.runs; r++)
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!;
      try {
        const x = await burn(v, opts.n, owners);
        out[v].push(x);
        log(
          `  queues n=${opts.n} run ${r + 1}/${opts.runs} ${v}: ${x.jobsPerS.toFixed(0)} jobs/s, ` +
            `PG ${x.pgUs.toFixed(1)} µs/job, node ${x.nodeUs.toFixed(1)} µs/job`,
        );
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log(`  queues n=${opts.n} run ${r + 1}/${opts.runs} ${v}: FAILED ${msg}`);
        notes.push(`queues ${v} run ${r + 1}: FAILED — ${msg}`);
      }
    }
  const section = `queue control: burn-down ${opts.n.toLocaleString('en-US')}, ${owners} caller(s)`;
  const m = (v: (typeof variants)[number], k: keyof Burn) => midMedian(out[v].map((x) => x[k]));
  const rows: Row[] = [];
  for (const v of variants) {
    const label = v === 'control' ? 'off (nothing configured)' : 'limits + fairness on';
    rows.push(row(section, `${label}`, m(v, 'jobsPerS'), 'jobs/s', { runs: out[v].map((x) => x.jobsPerS) }));
    rows.push(
      row(section, `${label}: PostgreSQL CPU`, m(v, 'pgUs'), 'µs/job', { runs: out[v].map((x) => x.pgUs) }),
    );
  }
  const ratio = m('limits', 'jobsPerS') / m('control', 'jobsPerS');
  rows.push(
    row(section, 'on / off', ratio * 100, '%', {
      target: check('limits-vs-off', '≥ 90 % (within 10 %)', ratio >= 0.9),
    }),
  );
  rows.push(
    row(section, 'on / off, PostgreSQL CPU per job', (m('limits', 'pgUs') / m('control', 'pgUs')) * 100, '%'),
  );
  notes.push(
    `queue control (bench/queues.ts burndown): ${opts.n} jobs from ${owners} owner_service(s), 4 loops × claimJobs(limit 500) + completeMany; ` +
      `off = nothing configured; on = a profile limit that never binds (1,000,000: the group lock and running count on every claim) and owner weights (caller-a 2).`,
  );
  return { rows, notes };
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const what = args.find((a) => !a.startsWith('--') && Number.isNaN(Number(a))) ?? 'burndown';
  const VARIANTS = Object.keys(claims) as Variant[];
  // Without --only, the variants this command ran before claim-010 and unprepared were added;
  // name those two to run them.
  const DEFAULT_VARIANTS: Variant[] = ['round-one', 'two-stmt', 'two-stmt+limits', 'control', 'limits'];
  const onlyArg =
    args.indexOf('--only') >= 0 ? args[args.indexOf('--only') + 1]!.split(',') : DEFAULT_VARIANTS;
  for (const v of onlyArg) if (!VARIANTS.includes(v as Variant)) throw new Error(`unknown variant ${v}`);
  if (what === 'burndown')
    await burndown(flag('--n', 20_000), flag('--runs', 3), flag('--owners', 2), onlyArg as Variant[]);
  else if (what === 'latency')
    await latency(flag('--samples', 200), onlyArg as Variant[], flag('--backlog', 0));
  else if (what === 'fairness') await fairness();
  else if (what === 'controls')
    await controls(flag('--running', 1500), flag('--calls', 500), flag('--runs', 5));
  else throw new Error(`unknown scenario ${what}`);
}
