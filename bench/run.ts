// npm run bench [-- --full] [--only burndown,http] [--runs N] [--n 20000,100000]
//
// Runs the scenarios (each in its own module), prints one table of medians with the runs
// behind them, ratios and target checks, then one line per target of the issues
// (lib/targets.ts: MET, MISSED, or NOT MEASURED and why), and saves the results as JSON
// and Markdown under .bench/ (git-ignored) for docs/BENCHMARKS.md. Every scenario creates
// and drops its own aisvc_bench_* databases on the local PostgreSQL (BENCH_DATABASE_URL
// to change it). The header says whether autovacuum was on (SHOW autovacuum): the
// benchmarks ANALYZE by hand, and a server without autovacuum hides what that costs.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { burndown } from './burndown.ts';
import { burstScenario } from './burst.ts';
import { coldstart } from './coldstart.ts';
import { enqueue } from './enqueue.ts';
import { explainAt1M } from './explain.ts';
import { http } from './http.ts';
import { latency } from './latency.ts';
import { parseArgs, type ScenarioName } from './lib/args.ts';
import { ROOT_DIR } from './lib/child.ts';
import { dropStale, serverInfo } from './lib/db.ts';
import {
  markdownTable,
  printTable,
  printTargets,
  type Row,
  row,
  type ScenarioResult,
  targetSummary,
} from './lib/report.ts';
import { TARGETS, type TargetKey } from './lib/targets.ts';
import { profileScenario } from './profile.ts';
import { queuesScenario } from './queues.ts';
import { scale } from './scale.ts';
import { schema } from './schema.ts';
import { tokensScenario } from './tokens.ts';

// DROP DATABASE … WITH (FORCE) ends the sessions a library may still hold idle on the
// dropped database; those clients then emit "terminating connection due to administrator
// command" (57P01) with nobody listening. That is the benchmark cleaning up, not a failure.
const isTeardownNoise = (e: unknown) =>
  (e as { code?: string })?.code === '57P01' || /terminating connection due to administrator/.test(String(e));
process.on('uncaughtException', (e) => {
  if (isTeardownNoise(e)) return;
  console.error(e);
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  if (isTeardownNoise(e)) return;
  console.error(e);
  process.exit(1);
});

const args = parseArgs(process.argv.slice(2));
const full = args.full;
const runs = (short: number, long: number) => args.runs ?? (full ? long : short);
const log = (s: string) => process.stderr.write(`${s}\n`);
const scaleAlone = args.only.length === 1 && args.only[0] === 'scale';

const SCENARIO_RUNNERS: Record<ScenarioName, () => Promise<ScenarioResult>> = {
  enqueue: () => enqueue({ n: args.n?.[0] ?? (full ? 100_000 : 10_000), runs: runs(3, 3), log }),
  // The per-job HTTP loop (information) only with --full, up to 20,000 jobs: ~1 request per job.
  burndown: () =>
    burndown({
      sizes: args.n ?? (full ? [20_000, 100_000] : [5_000]),
      runs: runs(3, 3),
      perJobHttpMaxN: full ? 20_000 : 0,
      log,
    }),
  queues: () => queuesScenario({ n: args.n?.[0] ?? (full ? 20_000 : 10_000), runs: runs(3, 5), log }),
  burst: () => burstScenario({ n: args.n?.[0] ?? (full ? 20_000 : 10_000), runs: runs(1, 3), log }),
  tokens: () => tokensScenario({ jobs: args.n?.[0] ?? (full ? 160 : 60), runs: runs(1, 1), log }),
  latency: () => latency({ samples: full ? 500 : 100, gapMs: 20, runs: runs(3, 3), log }),
  http: () => http({ durationS: full ? 10 : 2, runs: runs(3, 3), log }),
  // 10M rows only when scale runs alone (`--only scale --full`): its load and reads take
  // ~20 min, which would double --full.
  scale: () =>
    scale({
      sizes:
        args.n ??
        (full ? (scaleAlone ? [100_000, 1_000_000, 10_000_000] : [100_000, 1_000_000]) : [1_000_000]),
      calls: full ? 50 : 20,
      // Short: the console's thirteen reads once, p50 of 10 calls (~1 s each at 1M here).
      ...(!full && { console: { runs: 1, calls: 10 } }),
      runs: runs(3, 3),
      log,
    }),
  coldstart: () => coldstart({ runs: runs(3, 5), log }),
  explain: () => explainAt1M({ log }),
  profile: () => profileScenario({ n: 50_000, log }),
  schema: () => schema({ n: args.n?.[0] ?? 20_000, runs: runs(5, 5), log }),
};

/** The commit measured, and whether the measured code (lib, workers, functions) had local changes. */
function codeVersion(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT_DIR, encoding: 'utf8' }).trimEnd();
    const head = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'lib', 'workers', 'functions', 'migrations');
    return dirty
      ? `${head} + uncommitted changes in ${[...new Set(dirty.split('\n').map((l) => l.slice(3).split('/')[0]))].join(', ')}`
      : head;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const stale = await dropStale();
  if (stale.length) log(`dropped ${stale.length} stale benchmark database(s)`);
  const pg = await serverInfo();
  const machine = {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: pg.version,
    pg_settings: `shared_buffers=${pg.shared_buffers} work_mem=${pg.work_mem} synchronous_commit=${pg.synchronous_commit} fsync=${pg.fsync} autovacuum=${pg.autovacuum}`,
    loadavg_start: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    code: codeVersion(),
  };
  const header = [
    `aisvc bench (${full ? 'full' : 'short'}): ${args.only.join(', ')}`,
    `machine: ${machine.cpus}, ${machine.memory_gb} GB, Node ${machine.node}; ${machine.postgres}`,
    `PostgreSQL: autovacuum = ${pg.autovacuum} (SHOW autovacuum); ${machine.pg_settings}`,
    `load average at start: ${machine.loadavg_start}; code ${machine.code}`,
  ];
  for (const h of header) log(h);

  const rows: Row[] = [];
  const notes: string[] = [];
  const timings: Record<string, number> = {};
  const failed = new Map<ScenarioName, string>();
  for (const name of args.only) {
    const t0 = performance.now();
    log(`\n[${name}]`);
    try {
      const res = await SCENARIO_RUNNERS[name]();
      rows.push(...res.rows);
      notes.push(...res.notes);
    } catch (e) {
      log(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      rows.push(row(name, 'FAILED', null, '', { note: String(e) }));
      failed.set(name, String(e));
      notes.push(`${name}: FAILED — ${String(e)}`);
    }
    timings[name] = (performance.now() - t0) / 1000;
    log(`[${name}] ${timings[name]!.toFixed(0)} s`);
  }
  const loadEnd = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

  // Why a target has no row: its scenario was not asked for, failed, or needs --full.
  const why = (key: TargetKey) => {
    const def: { scenario: ScenarioName; fullOnly?: boolean } = TARGETS[key];
    if (!args.only.includes(def.scenario)) return `scenario '${def.scenario}' not run (--only)`;
    if (failed.has(def.scenario)) return `scenario '${def.scenario}' failed: ${failed.get(def.scenario)}`;
    if (def.fullOnly && !(full && scaleAlone))
      return 'measured only by `npm run bench -- --only scale --full`';
    return `no row: scenario '${def.scenario}' measured nothing for it (sizes given with --n?)`;
  };
  const targets = targetSummary(rows, why);

  console.log('');
  for (const h of header) console.log(h);
  console.log('');
  printTable(rows);
  console.log('');
  printTargets(targets);
  console.log('');
  for (const n of notes) console.log(`- ${n}`);
  console.log(
    `\nload average start ${machine.loadavg_start}, end ${loadEnd}; code ${machine.code}; seconds per scenario ${JSON.stringify(timings)}`,
  );

  const dir = `${ROOT_DIR}.bench/`;
  await mkdir(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const result = {
    command,
    started: started.toISOString(),
    machine,
    loadavg_end: loadEnd,
    timings,
    rows,
    targets,
    notes,
  };
  await writeFile(`${dir}results-${stamp}.json`, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(
    `${dir}results-${stamp}.md`,
    `${command} — ${started.toISOString()}\n\n${header.join('  \n')}\n\n${markdownTable(rows)}\n\n` +
      `${targets.map((t) => `- **${t.verdict.toLowerCase()}** [${t.source}] ${t.text}: ${t.detail.join('; ')}`).join('\n')}\n\n` +
      `${notes.map((n) => `- ${n}`).join('\n')}\n`,
  );
  log(`\nsaved .bench/results-${stamp}.json and .md`);
  process.exit(rows.some((r) => r.name === 'FAILED') ? 1 : 0);
}

void main();
