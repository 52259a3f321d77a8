// Queue control benchmarks (issue 11), on the local PostgreSQL, one fresh database per run:
//
//   burndown  the repo-loops shape (4 loops × claim(limit 500) + completeMany, 20k jobs from
//             one or two owner_services) through three claims, runs interleaved:
//               round-one  the claim statement before issue 11 (one UPDATE … SKIP LOCKED, no control)
//               control    today's claim, nothing configured (reap + register + fair order)
//               limits     today's claim with a (non-binding) profile limit and owner weights:
//                          every claim takes the group lock and counts what the group runs
//   fairness  two callers, one with 10,000 queued jobs and one with 100 arriving later, on
//             8 slots; every job takes 10 ticks of a virtual clock (no sleeps): per tick,
//             finished jobs complete and free slots are claimed. Reports the later caller's
//             wait (ticks) under fair claims and under the round-one claim (FIFO).
//
//   npx tsx bench/queues.ts [burndown|fairness] [--runs 3] [--n 20000] [--owners 2]
import type { Db } from '../lib/db/port.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import { createJobs } from '../lib/jobs/create.ts';
import { completeMany } from '../lib/jobs/lease.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import type { CreateJob } from '../lib/jobs/schemas.ts';
import { queuePolicy } from '../lib/queues/policy.ts';
import { startCpu } from './lib/cpu.ts';
import { ADMIN_URL, createMigrated } from './lib/db.ts';
import { benchInput, MODEL_PROFILE, TASK_TYPE } from './lib/jobs.ts';
import { ROUND_ONE_CLAIM } from './lib/round-one.ts';

type Variant = 'round-one' | 'control' | 'limits';
type Claim = (db: Db, workerId: string, limit: number) => Promise<JobRow[]>;

const LEASE_MS = 15 * 60_000;
const claims: Record<Variant, Claim> = {
  'round-one': async (db, workerId, limit) =>
    (await db.query<JobRow>(ROUND_ONE_CLAIM, [workerId, limit, [TASK_TYPE], [], LEASE_MS])).rows,
  control: (db, workerId, limit) =>
    claimJobs(db, { workerId, limit, leaseMs: LEASE_MS, taskTypes: [TASK_TYPE] }),
  limits: (db, workerId, limit) =>
    claimJobs(db, {
      workerId,
      limit,
      leaseMs: LEASE_MS,
      taskTypes: [TASK_TYPE],
      policy: queuePolicy({
        PROFILE_LIMITS: { [MODEL_PROFILE]: 1_000_000 },
        OWNER_WEIGHTS: { 'caller-a': 2 },
      }),
    }),
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

interface Burn {
  jobsPerS: number;
  /** CPU per job of the PostgreSQL backends and of this process: steadier than wall time here. */
  pgUs: number;
  nodeUs: number;
}

async function burn(variant: Variant, n: number, owners: number): Promise<Burn> {
  const b = await createMigrated(`q_${variant}`, 4);
  try {
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

async function burndown(n: number, runs: number, owners: number): Promise<void> {
  const out: Record<Variant, Burn[]> = { 'round-one': [], control: [], limits: [] };
  for (let r = 0; r < runs; r++)
    for (const v of Object.keys(out) as Variant[]) {
      const x = await burn(v, n, owners);
      out[v].push(x);
      console.error(
        `run ${r + 1} ${v}: ${x.jobsPerS.toFixed(0)} jobs/s, PG ${x.pgUs.toFixed(1)} µs/job, node ${x.nodeUs.toFixed(1)} µs/job`,
      );
    }
  const base = (k: keyof Burn) => median(out['round-one'].map((x) => x[k]));
  console.log(
    `burn-down, ${n} jobs from ${owners} owner_service(s), 4 loops × claim(500) + completeMany, median of ${runs}:`,
  );
  for (const v of Object.keys(out) as Variant[]) {
    const m = (k: keyof Burn) => median(out[v].map((x) => x[k]));
    const d = (k: keyof Burn) => `${((m(k) / base(k) - 1) * 100).toFixed(1)} %`;
    console.log(
      `  ${v.padEnd(10)} ${m('jobsPerS').toFixed(0).padStart(6)} jobs/s (${d('jobsPerS')})  ` +
        `PG ${m('pgUs').toFixed(1)} µs/job (${d('pgUs')})  node ${m('nodeUs').toFixed(1)} µs/job (${d('nodeUs')})` +
        `  runs ${out[v].map((x) => x.jobsPerS.toFixed(0)).join(', ')} jobs/s`,
    );
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

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const what = args.find((a) => !a.startsWith('--') && Number.isNaN(Number(a))) ?? 'burndown';
if (what === 'burndown') await burndown(flag('--n', 20_000), flag('--runs', 3), flag('--owners', 2));
else if (what === 'fairness') await fairness();
else throw new Error(`unknown scenario ${what}`);
