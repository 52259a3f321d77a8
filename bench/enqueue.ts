// Enqueue rate: N jobs (≈200-byte input) in 1000-job batches, one batch at a time from
// one client — our createJobs (one INSERT … SELECT FROM jsonb_to_recordset per batch,
// returning ids; in a transaction only when items carry idempotency keys), our POST /api/v1/jobs/batch (the API in its own process, `defaults`
// for the fields every item shares, as a caller would send it) vs pg-boss `insert` and
// graphile-worker `addJobs`, each on a fresh database, runs interleaved and rotated.
// Targets (issue 14): both of ours ≥ 1× graphile-worker and ≥ 1.5× pg-boss. CPU per job
// (this process, the API process, the database's PostgreSQL backends) is reported too:
// on a shared machine it moves far less than the wall-clock rate.
import { Pool } from 'undici';
import type { Db } from '../lib/db/port.ts';
import { createJobs } from '../lib/jobs/create.ts';
import { startServer } from './lib/child.ts';
import { type CpuMeter, type CpuUse, startCpu } from './lib/cpu.ts';
import { ADMIN_URL, createDatabase, createMigrated } from './lib/db.ts';
import { batches, benchInput, benchJob, INPUT_BYTES, MODEL_PROFILE, TASK_TYPE } from './lib/jobs.ts';
import { enqueueBoss, enqueueGraphile, graphileUtils, startBoss } from './lib/peers.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian } from './lib/stats.ts';
import { check } from './lib/targets.ts';

const TOKEN = 'bench-token-0123456789';
/**
 * One full batch per system before the clock starts, not counted: with 10 batches per
 * run, JIT warm-up of the per-item code was a third of the API's CPU (a deployed API is
 * warm). Every system gets the same.
 */
const WARM = 1000;

/** Our batch create, 1000 jobs per createJobs call. */
export async function enqueueOurs(db: Db, n: number, batchSize = 1000): Promise<void> {
  for (const [from, to] of batches(n, batchSize)) {
    const jobs = [];
    for (let i = from; i < to; i++) jobs.push(benchJob(i));
    await createJobs(db, jobs);
  }
}

/**
 * Our HTTP batch route, 1000 jobs per POST /api/v1/jobs/batch: the clock runs from the
 * first request to the last answer (the API process is started and warm before).
 */
type Sample = { ms: number; cpu: CpuUse };

async function enqueueHttpBatch(n: number, answer: 'full' | 'minimal' = 'full'): Promise<Sample> {
  const b = await createMigrated('enq_http', 2);
  const api = await startServer('api.ts', {
    DATABASE_URL: b.url,
    AI_SERVICE_TOKEN: TOKEN,
    MIGRATE_ON_START: 'false',
  });
  const pool = new Pool(`http://127.0.0.1:${api.port}`, { connections: 1 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
  const post = async (from: number, to: number) => {
    const jobs = [];
    for (let i = from; i < to; i++) jobs.push({ owner_ref: `ref-${i}`, input: benchInput(i) });
    const r = await pool.request({
      path: '/api/v1/jobs/batch',
      method: 'POST',
      headers,
      body: JSON.stringify({
        defaults: { owner_service: 'bench', task_type: TASK_TYPE, model_profile: MODEL_PROFILE },
        jobs,
        ...(answer === 'minimal' && { return: 'minimal' }),
      }),
    });
    const text = await r.body.text();
    if (r.statusCode !== 200)
      throw new Error(`POST /api/v1/jobs/batch: ${r.statusCode} ${text.slice(0, 300)}`);
  };
  try {
    // Warm the route (JIT, pool connections, the unserved check) on a batch that is not counted.
    await post(n, n + WARM);
    const meter = await startCpu(ADMIN_URL, b.name, api.proc.pid);
    const t0 = performance.now();
    for (const [from, to] of batches(n)) await post(from, to);
    const ms = performance.now() - t0;
    const cpu = await meter.stop();
    const count = await b.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs');
    if (count.rows[0]!.n !== n + WARM)
      throw new Error(`http batch: ${count.rows[0]!.n - WARM} of ${n} jobs created`);
    return { ms, cpu };
  } finally {
    await pool.close();
    await api.stop();
    await b.drop();
  }
}

/** Times `fn` and meters the CPU it costs (this process and `db`'s backends). */
async function measured(db: string, fn: () => Promise<void>): Promise<Sample> {
  const meter: CpuMeter = await startCpu(ADMIN_URL, db);
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  return { ms, cpu: await meter.stop() };
}

const ENQUEUERS: Record<string, (n: number) => Promise<Sample>> = {
  'ours (POST /jobs/batch)': (n) => enqueueHttpBatch(n),
  // A producer that keeps only ids: the answer is {index, outcome, id} per item, not the job.
  'ours (POST /jobs/batch, minimal)': (n) => enqueueHttpBatch(n, 'minimal'),
  'ours (createJobs)': async (n: number) => {
    const b = await createMigrated('enq_ours', 2);
    try {
      await enqueueOurs(b.db, WARM);
      return await measured(b.name, () => enqueueOurs(b.db, n));
    } finally {
      await b.drop();
    }
  },
  'pg-boss (insert)': async (n: number) => {
    const b = await createDatabase('enq_pgboss');
    const boss = await startBoss(b.url);
    try {
      await enqueueBoss(boss, WARM);
      return await measured(b.name, () => enqueueBoss(boss, n));
    } finally {
      await boss.stop({ graceful: false, close: true }).catch(() => {});
      await b.drop();
    }
  },
  'graphile-worker (addJobs)': async (n: number) => {
    const b = await createDatabase('enq_graphile');
    const utils = await graphileUtils(b.url);
    try {
      await enqueueGraphile(utils, WARM);
      return await measured(b.name, () => enqueueGraphile(utils, n));
    } finally {
      await utils.release();
      await b.drop();
    }
  },
};

type Enqueuer =
  | 'ours (POST /jobs/batch)'
  | 'ours (POST /jobs/batch, minimal)'
  | 'ours (createJobs)'
  | 'pg-boss (insert)'
  | 'graphile-worker (addJobs)';

export async function enqueue(opts: {
  n: number;
  runs: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const names = Object.keys(ENQUEUERS) as Enqueuer[];
  const rates = new Map<Enqueuer, number[]>(names.map((k) => [k, []]));
  // µs of CPU per job: client (this process), API process, PostgreSQL backends.
  const cpus = new Map<Enqueuer, { node: number[]; api: number[]; pg: number[] }>(
    names.map((k) => [k, { node: [], api: [], pg: [] }]),
  );
  const failures: string[] = [];
  for (let r = 0; r < opts.runs; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]!;
      let ms: number;
      try {
        const sample = await ENQUEUERS[name]!(opts.n);
        ms = sample.ms;
        const perJob = (x: number) => (x * 1000) / opts.n;
        const c = cpus.get(name)!;
        c.node.push(perJob(sample.cpu.nodeMs));
        c.api.push(perJob(sample.cpu.childMs ?? 0));
        c.pg.push(perJob(sample.cpu.pgMs));
      } catch (e) {
        // One failed sample must not discard the others: say so and go on.
        const msg = e instanceof Error ? e.message : String(e);
        log(`  enqueue n=${opts.n} run ${r + 1}/${opts.runs} ${name}: FAILED ${msg}`);
        failures.push(`enqueue ${name} run ${r + 1}: FAILED — ${msg}`);
        continue;
      }
      const rate = opts.n / (ms / 1000);
      rates.get(name)!.push(rate);
      log(`  enqueue n=${opts.n} run ${r + 1}/${opts.runs} ${name}: ${rate.toFixed(0)} jobs/s`);
    }
  }
  const section = `enqueue ${opts.n.toLocaleString('en-US')} (1000/batch)`;
  const med = new Map([...rates].map(([k, xs]) => [k, midMedian(xs)]));
  const rows: Row[] = names.map((k) => row(section, k, med.get(k)!, 'jobs/s', { runs: rates.get(k)! }));
  const cpuNotes: string[] = [];
  for (const k of names) {
    const c = cpus.get(k)!;
    const total = c.node.map((x, i) => x + c.api[i]! + c.pg[i]!);
    rows.push(
      row(section, `${k} CPU per job (client + API + PostgreSQL)`, midMedian(total), 'µs', { runs: total }),
    );
    cpuNotes.push(
      `Enqueue CPU per job, ${k}: client ${midMedian(c.node).toFixed(1)} µs, API process ` +
        `${midMedian(c.api).toFixed(1)} µs, PostgreSQL backends ${midMedian(c.pg).toFixed(1)} µs (medians).`,
    );
  }
  const boss = med.get('pg-boss (insert)')!;
  const graphile = med.get('graphile-worker (addJobs)')!;
  for (const ours of [
    'ours (POST /jobs/batch)',
    'ours (POST /jobs/batch, minimal)',
    'ours (createJobs)',
  ] as const) {
    const vsGraphile = med.get(ours)! / graphile;
    const vsBoss = med.get(ours)! / boss;
    rows.push(
      row(section, `${ours} / graphile-worker`, vsGraphile, '×', {
        target: check('enqueue-vs-graphile', '≥ 1×', vsGraphile >= 1),
      }),
    );
    rows.push(
      row(section, `${ours} / pg-boss`, vsBoss, '×', {
        target: check('enqueue-vs-pgboss', '≥ 1.5×', vsBoss >= 1.5),
      }),
    );
  }
  return {
    rows,
    notes: [
      ...failures,
      ...cpuNotes,
      `Enqueue: ${INPUT_BYTES}-byte inputs, sequential 1000-job batches from one client, fresh database per run; ` +
        'POST /jobs/batch: the API (bench/servers/api.ts) in its own process, one undici connection, ' +
        '`defaults` {owner_service, task_type, model_profile} and {owner_ref, input} per item; ' +
        '"minimal": the same body with `"return": "minimal"` (answers index, outcome and id per item instead of the job).',
    ],
  };
}
