// Enqueue rate: N jobs (≈200-byte input) in 1000-job batches — our createJobs (one
// INSERT … SELECT FROM jsonb_to_recordset per batch, in a transaction) vs pg-boss
// `insert` and graphile-worker `addJobs`, each on a fresh database, runs interleaved.
import type { Db } from '../lib/db/port.ts';
import { createJobs } from '../lib/jobs/create.ts';
import { createDatabase, createMigrated } from './lib/db.ts';
import { batches, benchJob, INPUT_BYTES } from './lib/jobs.ts';
import { enqueueBoss, enqueueGraphile, graphileUtils, startBoss } from './lib/peers.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian } from './lib/stats.ts';

/** Our batch create, 1000 jobs per createJobs call. */
export async function enqueueOurs(db: Db, n: number, batchSize = 1000): Promise<void> {
  for (const [from, to] of batches(n, batchSize)) {
    const jobs = [];
    for (let i = from; i < to; i++) jobs.push(benchJob(i));
    await createJobs(db, jobs);
  }
}

const ENQUEUERS = {
  'ours (createJobs)': async (n: number) => {
    const b = await createMigrated('enq_ours', 2);
    try {
      const t0 = performance.now();
      await enqueueOurs(b.db, n);
      return performance.now() - t0;
    } finally {
      await b.drop();
    }
  },
  'pg-boss (insert)': async (n: number) => {
    const b = await createDatabase('enq_pgboss');
    const boss = await startBoss(b.url);
    try {
      const t0 = performance.now();
      await enqueueBoss(boss, n);
      return performance.now() - t0;
    } finally {
      await boss.stop({ graceful: false, close: true }).catch(() => {});
      await b.drop();
    }
  },
  'graphile-worker (addJobs)': async (n: number) => {
    const b = await createDatabase('enq_graphile');
    const utils = await graphileUtils(b.url);
    try {
      const t0 = performance.now();
      await enqueueGraphile(utils, n);
      return performance.now() - t0;
    } finally {
      await utils.release();
      await b.drop();
    }
  },
} as const;

type Enqueuer = keyof typeof ENQUEUERS;

export async function enqueue(opts: {
  n: number;
  runs: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const names = Object.keys(ENQUEUERS) as Enqueuer[];
  const rates = new Map<Enqueuer, number[]>(names.map((k) => [k, []]));
  for (let r = 0; r < opts.runs; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]!;
      const ms = await ENQUEUERS[name](opts.n);
      const rate = opts.n / (ms / 1000);
      rates.get(name)!.push(rate);
      log(`  enqueue n=${opts.n} run ${r + 1}/${opts.runs} ${name}: ${rate.toFixed(0)} jobs/s`);
    }
  }
  const section = `enqueue ${opts.n.toLocaleString('en-US')} (1000/batch)`;
  const med = new Map([...rates].map(([k, xs]) => [k, midMedian(xs)]));
  const rows: Row[] = names.map((k) => row(section, k, med.get(k)!, 'jobs/s', { runs: rates.get(k)! }));
  const ours = med.get('ours (createJobs)')!;
  rows.push(row(section, 'ours / pg-boss', ours / med.get('pg-boss (insert)')!, '×'));
  rows.push(row(section, 'ours / graphile-worker', ours / med.get('graphile-worker (addJobs)')!, '×'));
  return {
    rows,
    notes: [
      `Enqueue: ${INPUT_BYTES}-byte inputs, sequential 1000-job batches from one client, fresh database per run.`,
    ],
  };
}
