// Where the time goes, as V8 CPU profiles (opt-in: `npm run bench -- --only profile`):
//   1. the API server (Node adapter, its own process, --cpu-prof) under GET /api/v1/jobs/{id}
//      load from autocannon at 10 connections;
//   2. our worker (startWorker, no-op handler) burning down 50,000 jobs, profiled in-process
//      with the inspector from the first claim to the last completion.
// The summaries (top self and inclusive frames) go into the report notes; the raw
// .cpuprofile files stay in .bench/profiles/ for Chrome DevTools.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import autocannon from 'autocannon';
import { loadConfig } from '../lib/config/load.ts';
import { createJobs } from '../lib/jobs/create.ts';
import type { Handler } from '../workers/handler.ts';
import { startWorker } from '../workers/worker.ts';
import { untilCompleted } from './burndown.ts';
import { enqueueOurs } from './enqueue.ts';
import { ROOT_DIR, startServer } from './lib/child.ts';
import { countingDb } from './lib/counting.ts';
import { type CpuProfile, summarise } from './lib/cpuprofile.ts';
import { createMigrated } from './lib/db.ts';
import { benchJob, TASK_TYPE } from './lib/jobs.ts';
import { analyze } from './lib/peers.ts';
import { row, type ScenarioResult } from './lib/report.ts';

const DIR = `${ROOT_DIR}.bench/profiles/`;
const TOKEN = 'bench-token-0123456789';

function note(title: string, s: ReturnType<typeof summarise>): string {
  return (
    `${title} (${s.totalMs.toFixed(0)} ms sampled)\n` +
    `    self:\n${s.self.map((l) => `      ${l}`).join('\n')}\n` +
    `    inclusive:\n${s.inclusive.map((l) => `      ${l}`).join('\n')}`
  );
}

async function profileApi(
  log: (s: string) => void,
): Promise<{ rps: number; summary: ReturnType<typeof summarise> }> {
  const dir = `${DIR}api/`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const b = await createMigrated('profile_api', 2);
  try {
    const seeded = await createJobs(
      b.db,
      Array.from({ length: 100 }, (_, i) => benchJob(i)),
    );
    const api = await startServer(
      'api.ts',
      { DATABASE_URL: b.url, AI_SERVICE_TOKEN: TOKEN, MIGRATE_ON_START: 'false' },
      { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] },
    );
    let rps = 0;
    try {
      await autocannon({ url: `http://127.0.0.1:${api.port}/healthz`, connections: 10, duration: 1 });
      const r = await autocannon({
        url: `http://127.0.0.1:${api.port}/api/v1/jobs/${seeded[0]!.job.id}`,
        connections: 10,
        duration: 8,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      rps = r.requests.average;
      log(`  profile: API under GET load, ${rps.toFixed(0)} req/s while profiled`);
    } finally {
      await api.stop();
    }
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the API process wrote no CPU profile');
    return { rps, summary: summarise(JSON.parse(await readFile(`${dir}${file}`, 'utf8')) as CpuProfile, 18) };
  } finally {
    await b.drop();
  }
}

async function profileWorker(
  n: number,
  log: (s: string) => void,
): Promise<{ rate: number; summary: ReturnType<typeof summarise> }> {
  const b = await createMigrated('profile_worker', 10);
  try {
    await enqueueOurs(b.db, n);
    await analyze(b.url, 'ai_jobs');
    const { db, profile } = countingDb(b.db);
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
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
    await session.post('Profiler.start');
    const worker = await startWorker(
      loadConfig({
        LOG_LEVEL: 'silent',
        DATABASE_URL: b.url,
        WORKER_ID: 'bench-profile',
        WORKER_CLAIM_LIMIT: '500',
      }),
      { db, handlers: [noop], probe: false },
    );
    await untilCompleted(b.db, profile, () => seen, n);
    const rate = n / ((performance.now() - t0) / 1000);
    const { profile: cpu } = await session.post('Profiler.stop');
    session.disconnect();
    await worker.stop();
    await mkdir(DIR, { recursive: true });
    await writeFile(`${DIR}worker.cpuprofile`, JSON.stringify(cpu));
    log(`  profile: worker burn-down of ${n}, ${rate.toFixed(0)} jobs/s while profiled`);
    return { rate, summary: summarise(cpu as unknown as CpuProfile, 18) };
  } finally {
    await b.drop();
  }
}

export async function profileScenario(opts: {
  n: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const api = await profileApi(log);
  const worker = await profileWorker(opts.n, log);
  return {
    rows: [
      row('profile (one run each, under the profiler)', 'API GET /api/v1/jobs/{id} @10', api.rps, 'req/s'),
      row('profile (one run each, under the profiler)', `worker burn-down ${opts.n}`, worker.rate, 'jobs/s'),
    ],
    notes: [
      note('profile: API server process under GET /api/v1/jobs/{id} at 10 connections', api.summary),
      note(
        `profile: this process during the worker burn-down of ${opts.n} (startWorker, no-op handler)`,
        worker.summary,
      ),
      'profile: raw profiles in .bench/profiles/ (open in Chrome DevTools → Performance).',
    ],
  };
}
