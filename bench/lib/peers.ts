// The two peers, set up the way their documentation and our measurements say is best on
// this machine (the peers' notes in /work/shared/notes/toolchain.md, checked here; docs/BENCHMARKS.md):
//   pg-boss 12:          batchSize 500, localConcurrency 4, burstWhenBatchFull (fetch again at
//                         once while batches come back full), 0.5 s poll floor, no supervisor;
//   graphile-worker 0.18: concurrency 24, localQueue.size 500, completeJobBatchDelay 0.
// Both get ANALYZE after the bulk enqueue (fresh-table statistics halve their throughput).
import { Logger, makeWorkerUtils, type Runner, run, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { batches, benchInput, QUEUE } from './jobs.ts';

export const PGBOSS_WORK = {
  batchSize: 500,
  localConcurrency: 4,
  burstWhenBatchFull: true,
  pollingIntervalSeconds: 0.5,
} as const;

export const GRAPHILE_RUN = { concurrency: 24, localQueueSize: 500, completeJobBatchDelay: 0 } as const;

export const PEER_VERSIONS = {
  'pg-boss': '12',
  'graphile-worker': '0.18',
};

// ---- pg-boss ----------------------------------------------------------------------

export async function startBoss(url: string): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: url,
    schedule: false,
    supervise: false,
    max: 10,
    application_name: 'aisvc-bench-pgboss',
  });
  boss.on('error', (e) => console.error('pg-boss error:', e.message));
  await boss.start();
  await boss.createQueue(QUEUE);
  return boss;
}

/** Bulk insert in 1000-job batches (pg-boss `insert`). */
export async function enqueueBoss(boss: PgBoss, n: number): Promise<void> {
  for (const [from, to] of batches(n)) {
    const jobs = [];
    for (let i = from; i < to; i++) jobs.push({ data: benchInput(i) });
    await boss.insert(QUEUE, jobs);
  }
}

export async function bossRemaining(c: pg.Client): Promise<number> {
  const r = await c.query<{ n: string }>(
    `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state < 'completed'`,
    [QUEUE],
  );
  return Number(r.rows[0]!.n);
}

// ---- graphile-worker --------------------------------------------------------------

export async function graphileUtils(url: string): Promise<WorkerUtils> {
  const utils = await makeWorkerUtils({ connectionString: url, logger: quietLogger() });
  await utils.migrate();
  return utils;
}

/** Bulk insert in 1000-job batches (graphile-worker `addJobs`). */
export async function enqueueGraphile(utils: WorkerUtils, n: number): Promise<void> {
  for (const [from, to] of batches(n)) {
    const specs = [];
    for (let i = from; i < to; i++) specs.push({ identifier: QUEUE, payload: benchInput(i) });
    await utils.addJobs(specs);
  }
}

export async function startGraphile(url: string, task: () => Promise<void>): Promise<Runner> {
  return run({
    connectionString: url,
    concurrency: GRAPHILE_RUN.concurrency,
    noHandleSignals: true,
    pollInterval: 2000,
    crontab: '',
    logger: quietLogger(),
    taskList: { [QUEUE]: task },
    preset: {
      worker: {
        localQueue: { size: GRAPHILE_RUN.localQueueSize },
        completeJobBatchDelay: GRAPHILE_RUN.completeJobBatchDelay,
      },
    },
  });
}

/** Completed jobs are deleted by graphile-worker: what is left is still to do. */
export async function graphileRemaining(c: pg.Client): Promise<number> {
  const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM graphile_worker._private_jobs');
  return Number(r.rows[0]!.n);
}

/** Errors only: graphile-worker logs every job at info level otherwise. */
function quietLogger(): Logger {
  return new Logger(() => (level, message) => {
    if (level === 'error') console.error(`graphile-worker: ${message}`);
  });
}

export async function analyze(url: string, table?: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(table ? `ANALYZE ${table}` : 'ANALYZE');
  } finally {
    await c.end();
  }
}
