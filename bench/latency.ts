// Create → claim latency with an idle worker waiting: our worker as shipped (startWorker
// with the default WORKER_CLAIM_LIMIT 4 and WORKER_POLL_INTERVAL 2 s; LISTEN/NOTIFY on, a
// no-op handler that stamps the time it starts) and one job created at a time with
// createJob on a separate connection, spaced out so the worker is idle each time.
// Latency = handler start − the moment the INSERT's commit was acknowledged to the
// creating client (both clocks are this process's performance.now()).

import { loadConfig } from '../lib/config/load.ts';
import { openPg } from '../lib/db/pg.ts';
import { createJob } from '../lib/jobs/create.ts';
import type { JobRow } from '../lib/jobs/row.ts';
import type { Handler } from '../workers/handler.ts';
import { startWorker } from '../workers/worker.ts';
import { createMigrated } from './lib/db.ts';
import { benchJob, TASK_TYPE } from './lib/jobs.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian, percentile, sleep, until } from './lib/stats.ts';
import { check } from './lib/targets.ts';

export async function latencyRun(
  samples: number,
  gapMs: number,
  notifyDebounceMs?: number,
): Promise<number[]> {
  const b = await createMigrated('latency', 10);
  const creator = openPg(b.url, { max: 1, applicationName: 'aisvc-bench-creator' });
  const started = new Map<string, number>();
  const noop: Handler = {
    name: 'bench-noop',
    taskTypes: [TASK_TYPE],
    modelProfiles: [],
    async run(job: JobRow) {
      started.set(job.id, performance.now());
      return {};
    },
  };
  const worker = await startWorker(
    loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: b.url, WORKER_ID: 'bench-latency' }),
    {
      db: b.db,
      handlers: [noop],
      probe: false,
      ...(notifyDebounceMs !== undefined && { tuning: { notifyDebounceMs } }),
    },
  );
  try {
    await creator.query('SELECT 1');
    // startWorker starts claiming in the background: wait until its LISTEN session is up.
    await until(() => worker.status().listen.state === 'listening', 'the worker to listen', 10_000, 5);
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      await sleep(gapMs * (0.5 + Math.random()));
      const { job } = await createJob(creator, benchJob(i));
      const committed = performance.now();
      await until(() => started.has(job.id), `job ${i} to start`, 10_000, 0);
      out.push(started.get(job.id)! - committed);
    }
    return out;
  } finally {
    await worker.stop();
    await creator.close();
    await b.drop();
  }
}

export async function latency(opts: {
  samples: number;
  gapMs: number;
  runs: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  // The runner as configured by default (5 ms NOTIFY debounce), and with the debounce off
  // (what the default costs), interleaved.
  const variants = [
    { name: 'runner (default: 5 ms notify debounce)', debounce: undefined },
    { name: 'runner, notifyDebounceMs 0', debounce: 0 },
  ];
  const p50 = variants.map(() => [] as number[]);
  const p99 = variants.map(() => [] as number[]);
  for (let r = 0; r < opts.runs; r++) {
    for (const [v, variant] of variants.entries()) {
      const xs = await latencyRun(opts.samples, opts.gapMs, variant.debounce);
      p50[v]!.push(percentile(xs, 50));
      p99[v]!.push(percentile(xs, 99));
      log(
        `  latency run ${r + 1}/${opts.runs} ${variant.name}: p50 ${p50[v]!.at(-1)!.toFixed(2)} ms, ` +
          `p99 ${p99[v]!.at(-1)!.toFixed(2)} ms, max ${Math.max(...xs).toFixed(1)} ms over ${xs.length} samples`,
      );
    }
  }
  const section = 'create → claim (idle runner)';
  const rows: Row[] = [];
  for (const [v, variant] of variants.entries()) {
    const m50 = midMedian(p50[v]!);
    rows.push(
      row(section, `${variant.name} p50`, m50, 'ms', {
        runs: p50[v]!,
        ...(v === 0 && { target: check('create-to-claim', 'p50 < 10 ms', m50 < 10) }),
      }),
    );
    rows.push(row(section, `${variant.name} p99`, midMedian(p99[v]!), 'ms', { runs: p99[v]! }));
  }
  return {
    rows,
    notes: [
      `latency: ${opts.samples} samples per run, one job at a time every ${opts.gapMs / 2}–${(opts.gapMs * 3) / 2} ms, ` +
        'startWorker with WORKER_CLAIM_LIMIT 4 and WORKER_POLL_INTERVAL 2 s (defaults; a poll is never the trigger here); the default runner waits 5 ms after a NOTIFY ' +
        'to fold bursts, the second variant claims on the NOTIFY at once.',
    ],
  };
}
