// Scale: the read paths and the claim with a big table. One database grows through the
// sizes (100k and 1M rows; 10M with --full), each load an INSERT … SELECT generate_series
// with the indexes dropped and built after, then ANALYZE (lib/seed.ts fastLoad; its time
// is reported). At each size a busy hour is in the table: 100,000 jobs (a tenth of the
// rows below 1M) finished within stats' 1 h window. At each size, p50 over `calls` calls of
//   list by owner   listJobs({owner_service, owner_ref, limit 50}), a random existing owner
//   list by status  listJobs({status: ['failed'], limit 50}), newest first
//   stats           jobStats() (queue, per type, 1 h window outcomes, errors, durations)
//   claim           claimJobs(limit 10), 50 calls, after adding 5,000 fresh pending jobs
// and the claim throughput with the terminal rows present: the rest of those 5,000 burned
// by one loop of claimJobs(limit 100) + completeMany, against the same on an empty table
// (the "0 rows" section). Each round's 5,000 completed jobs stay in the table.
// The ops console's and GET /api/v1/usage's queries (CONSOLE_QUERIES) are timed the same
// way, target p50 < 50 ms at 1M, after the last day's transcription jobs are given results
// in the A/B contract (result.attempts with three providers' texts and agreement).
// Targets (issue 14): stats and lists p50 < 20 ms at 1M, < 50 ms at 10M. From 1M the
// console queries' p50 is over at most 20 calls; at 10M they are information, timed in
// one run of 10 calls (some read a day of rows).
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Db } from '../lib/db/port.ts';
import { retryByFilter } from '../lib/jobs/admin.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import { completeMany } from '../lib/jobs/lease.ts';
import { listJobs } from '../lib/jobs/list.ts';
import { jobStats } from '../lib/jobs/stats.ts';
import { usageByOwner } from '../lib/jobs/usage.ts';
import { abFigures, comparedJobs } from '../lib/ops/ab.ts';
import { failureGroups, groupFilter } from '../lib/ops/failures.ts';
import { backlog, expiredLeases, hourlyThroughput, liveWorkers, throughput } from '../lib/ops/overview.ts';
import { enqueueOurs } from './enqueue.ts';
import { createMigrated } from './lib/db.ts';
import { TASK_TYPE } from './lib/jobs.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { fastLoad, finishedWithin, randomOwner, seedJobs } from './lib/seed.ts';
import { midMedian, percentile } from './lib/stats.ts';
import { check } from './lib/targets.ts';

const LEASE_MS = 15 * 60_000;
const BURN_JOBS = 5_000;
/** Timed claims of 10 per round (500 of the round's 5,000 fresh jobs). */
const CLAIM_CALLS = 50;

/** Jobs finished within stats' 1 h window at 1M rows and beyond (issue 14's "busy hour"). */
export const BUSY_HOUR_JOBS = 100_000;
/** Row numbers of the busy hour's jobs (seedJobs' i), apart from the month's. */
const BUSY_BASE = 1_000_000_000;
/** The busy hour's jobs are created over the last 50 min, so they stay in the window while measured. */
const BUSY_SPAN_S = 50 * 60;

/** Sessions loading (and building indexes) side by side: one per core. */
const LOAD_PARALLEL = Math.max(1, Math.min(4, availableParallelism()));

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

/** Every read the console pages and GET /api/v1/usage make, by name. */
export const CONSOLE_QUERIES: [string, (db: Db) => Promise<unknown>][] = [
  ['console: backlog per type × profile', (db) => backlog(db)],
  ['console: throughput 1 h (12 × 5 min)', (db) => throughput(db, 300_000, 12)],
  ['console: throughput 1 day (24 × 1 h)', (db) => hourlyThroughput(db, Date.now(), 24)],
  ['console: live workers', (db) => liveWorkers(db)],
  ['console: expired leases', (db) => expiredLeases(db)],
  ['console: jobs list, no filter (limit 50)', (db) => listJobs(db, { limit: 50 })],
  ['console: failure groups, 24 h', (db) => failureGroups(db, ago(DAY))],
  [
    'console: failure group dry run, 24 h',
    (db) =>
      retryByFilter(db, {
        ...groupFilter(
          { error_category: 'timeout', task_type: 'llm_chat', model_profile: 'qwen2.5-14b' },
          ago(DAY).toISOString(),
          'retry',
        ),
        dry_run: true,
      }),
  ],
  ['console: A/B figures, 24 h', (db) => abFigures(db, ago(DAY))],
  ['console: A/B job picker, 24 h', (db) => comparedJobs(db, ago(DAY))],
  ['usage: 1 h', (db) => usageByOwner(db, { since: ago(3_600_000), until: new Date() })],
  ['usage: 24 h', (db) => usageByOwner(db, { since: ago(DAY), until: new Date() })],
  ['usage: 7 d (the longest window)', (db) => usageByOwner(db, { since: ago(7 * DAY), until: new Date() })],
];

/**
 * The last day's completed transcription jobs get a result in the A/B contract, so the
 * A/B queries read realistic rows (three attempts with text and agreement each).
 */
export const AB_RESULTS = `
UPDATE ai_jobs SET result = jsonb_build_object(
  'text', 'the quick brown fox jumps over the lazy dog', 'segments', '[]'::jsonb, 'provider', 'whisperx',
  'model', 'large-v3', 'duration_ms', duration_ms, 'comparison', 'complete',
  'attempts', jsonb_build_array(
    jsonb_build_object('provider', 'whisperx', 'model', 'large-v3', 'status', 'completed',
      'text', 'the quick brown fox jumps over the lazy dog', 'segments', '[]'::jsonb, 'duration_ms', duration_ms,
      'error', NULL, 'audio_duration_sec', 30, 'rtf', duration_ms / 30000.0, 'word_count', 9,
      'agreement', jsonb_build_object('voxtral', 0.89, 'qwen', 0.78)),
    jsonb_build_object('provider', 'voxtral', 'model', 'voxtral-small', 'status', 'completed',
      'text', 'the quick brown fox jumped over the lazy dog', 'segments', '[]'::jsonb, 'duration_ms', duration_ms * 2,
      'error', NULL, 'audio_duration_sec', 30, 'rtf', duration_ms / 15000.0, 'word_count', 9,
      'agreement', jsonb_build_object('whisperx', 0.89)),
    jsonb_build_object('provider', 'qwen', 'model', 'qwen2-audio', 'status',
      CASE WHEN duration_ms % 10 = 0 THEN 'failed' ELSE 'completed' END,
      'text', 'quick brown fox jumps over the lazy dog today', 'segments', '[]'::jsonb, 'duration_ms', duration_ms * 3,
      'error', CASE WHEN duration_ms % 10 = 0 THEN jsonb_build_object('category', 'timeout', 'message', 'slow') END,
      'audio_duration_sec', 30, 'word_count', 9, 'agreement', jsonb_build_object('whisperx', 0.78))))
WHERE task_type = 'transcribe' AND status = 'completed' AND finished_at > now() - interval '1 day'`;

async function timeCalls(calls: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm: plan cache, buffers
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Claim p50 with limit 10; the claimed jobs are completed afterwards so the mix stays put. */
async function claimTimes(db: Db, calls: number): Promise<number[]> {
  const out: number[] = [];
  const held: { id: string; leaseToken: string; workerId: string; result: Record<string, unknown> }[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const jobs = await claimJobs(db, { workerId: 'bench-scale', limit: 10, leaseMs: LEASE_MS });
    out.push(performance.now() - t0);
    for (const j of jobs)
      held.push({ id: j.id, leaseToken: j.lease_token!, workerId: 'bench-scale', result: {} });
  }
  await completeMany(db, held);
  return out;
}

/**
 * Adds BURN_JOBS fresh pending jobs, times `calls` claims of 10 (p50 ms), then burns the
 * rest with one claimJobs(limit 100) + completeMany loop (jobs/s).
 */
async function claimRound(db: Db, calls: number): Promise<{ claimP50: number; burn: number }> {
  await enqueueOurs(db, BURN_JOBS);
  await db.exec('ANALYZE ai_jobs');
  const claimP50 = percentile(await claimTimes(db, calls), 50);
  const t0 = performance.now();
  let done = 0;
  for (;;) {
    const jobs = await claimJobs(db, {
      workerId: 'bench-burn',
      limit: 100,
      leaseMs: LEASE_MS,
      taskTypes: [TASK_TYPE],
    });
    if (jobs.length === 0) break;
    const ok = await completeMany(
      db,
      jobs.map((j) => ({ id: j.id, leaseToken: j.lease_token!, workerId: 'bench-burn', result: {} })),
    );
    done += ok.size;
  }
  const ms = performance.now() - t0;
  return { claimP50, burn: done / (ms / 1000) };
}

export async function scale(opts: {
  sizes: number[];
  calls: number;
  runs: number;
  /** At most this many runs and calls per p50 for the console's reads. */
  console?: { runs?: number; calls?: number };
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const rows: Row[] = [];
  const notes: string[] = [];
  const b = await createMigrated('scale', 10);
  try {
    // The console's hourly rollup (migration 008), until lib/db/migrations.ts lists it.
    const rollup = await b.db.query<{ ok: boolean }>(
      `SELECT to_regclass('ai_usage_hours') IS NOT NULL AS ok`,
    );
    if (!rollup.rows[0]?.ok)
      await b.db.exec(await readFile(new URL('../migrations/008_console.sql', import.meta.url), 'utf8'));
    // Baseline: the claim loop on an empty table.
    const base: number[] = [];
    const baseClaim: number[] = [];
    await claimRound(b.db, CLAIM_CALLS); // warm-up: JIT, plans, buffers
    await b.db.exec('TRUNCATE ai_jobs CASCADE');
    for (let r = 0; r < opts.runs; r++) {
      const c = await claimRound(b.db, CLAIM_CALLS);
      base.push(c.burn);
      baseClaim.push(c.claimP50);
      await b.db.exec('TRUNCATE ai_jobs CASCADE');
    }
    rows.push(row('scale 0 rows', 'claim (limit 10)', midMedian(baseClaim), 'ms p50', { runs: baseClaim }));
    rows.push(
      row('scale 0 rows', 'claim+completeMany loop (limit 100)', midMedian(base), 'jobs/s', { runs: base }),
    );

    let loaded = 0; // the month's rows (seedJobs numbers 0 … loaded - 1)
    let busyLoaded = 0;
    for (const size of opts.sizes) {
      const t0 = performance.now();
      // The busy hour: what is finished within the window now (earlier loads' busy hour,
      // the month's last hour, the claim rounds) is topped up to the mark; the month's
      // rows fill the rest of `size`.
      const busyMark = Math.min(BUSY_HOUR_JOBS, Math.floor(size / 10));
      const have = (await b.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_jobs')).rows[0]!.n;
      const busy = Math.max(0, busyMark - (await finishedWithin(b.db)));
      const month = Math.max(0, size - have - busy);
      const times = await fastLoad(
        b.url,
        async (db) => {
          await seedJobs(db, loaded, loaded + month, { chunk: 250_000, parallel: LOAD_PARALLEL });
          await seedJobs(db, BUSY_BASE + busyLoaded, BUSY_BASE + busyLoaded + busy, {
            spanSecs: BUSY_SPAN_S,
            chunk: 50_000,
            parallel: LOAD_PARALLEL,
          });
          await db.query(AB_RESULTS);
        },
        LOAD_PARALLEL,
      );
      // fastLoad disables the triggers, so the per-minute rollup of finished jobs (migration
      // 013) does not see the load: rebuilt from the rows, as after a restore (part of the load time).
      const r0 = performance.now();
      await b.db.query(`SELECT ai_job_finishes_rebuild(now() - interval '8 days', now())`);
      await b.db.exec('ANALYZE ai_job_finishes'); // as fastLoad does for ai_jobs
      const rebuildS = (performance.now() - r0) / 1000;
      loaded += month;
      busyLoaded += busy;
      const loadS = (performance.now() - t0) / 1000;
      const facts = (
        await b.db.query<{ mb: number; n: number }>(
          `SELECT (pg_total_relation_size('ai_jobs') / 1048576)::int AS mb, (SELECT count(*)::int FROM ai_jobs) AS n`,
        )
      ).rows[0]!;
      const inWindow = await finishedWithin(b.db);
      const cpuText =
        times.insertCpuS === null ? 'backend CPU unknown' : `${times.insertCpuS.toFixed(0)} s backend CPU`;
      const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
      log(
        `  scale: ${facts.n} rows (${month} + ${busy} busy-hour added) in ${loadS.toFixed(1)} s — insert ${times.insertS.toFixed(1)} s (${cpuText}), ` +
          `${times.indexes} indexes ${times.indexS.toFixed(1)} s, ANALYZE ${times.analyzeS.toFixed(1)} s, rollup rebuild ${rebuildS.toFixed(1)} s; ${facts.mb} MB with indexes; ${inWindow} finished in the last hour`,
      );
      notes.push(
        `scale ${label}: ${facts.n.toLocaleString('en-US')} rows, ${inWindow.toLocaleString('en-US')} finished within the hour; table + indexes ${facts.mb} MB; ` +
          `load ${loadS.toFixed(0)} s (insert ${times.insertS.toFixed(0)} s, ${cpuText}, ${LOAD_PARALLEL} sessions, with the indexes dropped, ${times.indexes} indexes rebuilt in ${times.indexS.toFixed(0)} s, ANALYZE ${times.analyzeS.toFixed(0)} s, finish rollup rebuilt in ${rebuildS.toFixed(1)} s).`,
      );
      const section = `scale ${label} rows`;
      rows.push(
        row(section, 'load (insert, index build, ANALYZE)', loadS, 's', { note: `${month} + ${busy} rows` }),
      );
      rows.push(row(section, 'jobs finished within the 1 h window', inWindow, 'jobs'));
      const target =
        size >= 10_000_000
          ? (v: number) => check('scale-10m', 'p50 < 50 ms at 10M', v < 50)
          : size >= 1_000_000
            ? (v: number) => check('scale-1m', 'p50 < 20 ms at 1M', v < 20)
            : undefined;
      // Thirteen console reads of up to ~1 s each at 1M after the busy hour (seconds at
      // 10M): fewer calls and runs than stats and lists, so a size does not take ten
      // minutes (`console` caps both; at 10M one run of 10 calls, information).
      const consoleRuns = size >= 10_000_000 ? 1 : Math.min(opts.runs, opts.console?.runs ?? opts.runs);
      const consoleCalls = Math.min(
        size >= 10_000_000 ? 10 : size >= 1_000_000 ? 20 : opts.calls,
        opts.console?.calls ?? opts.calls,
        opts.calls,
      );

      const p50s = {
        owner: [] as number[],
        status: [] as number[],
        rare: [] as number[],
        stats: [] as number[],
        claim: [] as number[],
      };
      const consoleP50s = CONSOLE_QUERIES.map(() => [] as number[]);
      const burn: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        p50s.owner.push(
          percentile(
            await timeCalls(opts.calls, () => listJobs(b.db, { ...randomOwner(loaded), limit: 50 })),
            50,
          ),
        );
        p50s.status.push(
          percentile(
            await timeCalls(opts.calls, () => listJobs(b.db, { status: ['failed'], limit: 50 })),
            50,
          ),
        );
        p50s.rare.push(
          percentile(
            await timeCalls(opts.calls, () => listJobs(b.db, { status: ['running'], limit: 50 })),
            50,
          ),
        );
        p50s.stats.push(percentile(await timeCalls(opts.calls, () => jobStats(b.db)), 50));
        if (r < consoleRuns)
          for (const [i, [, fn]] of CONSOLE_QUERIES.entries()) {
            consoleP50s[i]!.push(percentile(await timeCalls(consoleCalls, () => fn(b.db)), 50));
          }
        const c = await claimRound(b.db, CLAIM_CALLS);
        p50s.claim.push(c.claimP50);
        burn.push(c.burn);
        log(
          `  scale ${label} run ${r + 1}/${opts.runs}: owner ${p50s.owner.at(-1)!.toFixed(2)} ms, ` +
            `status ${p50s.status.at(-1)!.toFixed(2)} ms, rare status ${p50s.rare.at(-1)!.toFixed(2)} ms, stats ${p50s.stats.at(-1)!.toFixed(2)} ms, ` +
            `claim ${p50s.claim.at(-1)!.toFixed(2)} ms, burn ${burn.at(-1)!.toFixed(0)} jobs/s`,
        );
      }
      const add = (name: string, xs: number[], withTarget: boolean) => {
        const v = midMedian(xs);
        rows.push(
          row(section, name, v, 'ms p50', { runs: xs, ...(withTarget && target && { target: target(v) }) }),
        );
      };
      add('list by owner (limit 50)', p50s.owner, true);
      add('list by status=failed (6 %, limit 50)', p50s.status, true);
      add('list by status=running (0.1 %, limit 50)', p50s.rare, true);
      add('stats', p50s.stats, true);
      add('claim (limit 10)', p50s.claim, false);
      for (const [i, [name]] of CONSOLE_QUERIES.entries()) {
        const v = midMedian(consoleP50s[i]!);
        rows.push(
          row(section, name, v, 'ms p50', {
            runs: consoleP50s[i]!,
            ...(size >= 1_000_000 &&
              size < 10_000_000 && { target: check('console-1m', 'p50 < 50 ms at 1M', v < 50) }),
          }),
        );
      }
      rows.push(
        row(section, 'claim+completeMany loop (limit 100)', midMedian(burn), 'jobs/s', { runs: burn }),
      );
      const baseMed = midMedian(base);
      rows.push(row(section, 'claim loop vs empty table', (midMedian(burn) / baseMed) * 100, '%'));
      // The runs' churn (5,000 jobs inserted, claimed and completed per run) leaves dead
      // entries in the pending/running partial indexes until vacuum; stats counts through
      // them. The same measurement right after a VACUUM shows how much of it that is.
      const dead = (
        await b.db.query<{ n: number }>(
          `SELECT n_dead_tup::int AS n FROM pg_stat_user_tables WHERE relname = 'ai_jobs'`,
        )
      ).rows[0]?.n;
      await b.db.exec('VACUUM ai_jobs');
      const afterVacuum = percentile(await timeCalls(opts.calls, () => jobStats(b.db)), 50);
      rows.push(
        row(section, 'stats right after VACUUM', afterVacuum, 'ms p50', {
          note: `${dead ?? '?'} dead tuples before the VACUUM`,
        }),
      );
      notes.push(
        `scale ${label}: ${dead ?? '?'} dead tuples (pg_stat_user_tables) after the runs; stats p50 ${afterVacuum.toFixed(2)} ms right after VACUUM.`,
      );
    }
    notes.push(
      `scale: each figure is the median over ${opts.runs} runs of the p50 of ${opts.calls} sequential calls (one warm-up call first) ` +
        'through the repository functions on a pg pool of 10 (the default DATABASE_POOL_MAX); each run first adds ' +
        '5,000 pending jobs, times 50 claims of 10, then burns the rest (churn that autovacuum may not have cleaned yet). ' +
        `The console's reads: p50 of ${Math.min(opts.console?.calls ?? opts.calls, opts.calls)} calls (at most 20 from 1M rows, 10 at 10M) ` +
        `in ${Math.min(opts.runs, opts.console?.runs ?? opts.runs)} run(s) (1 at 10M).`,
    );
  } finally {
    await b.drop();
  }
  return { rows, notes };
}
