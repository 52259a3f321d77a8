// Cold start of every per-route bundle, the working tree against a base commit, in one run:
//
//   npx tsx bench/coldstart-ab.ts [--base <git ref>] [--runs N] [--only healthz,jobs-get]
//
// The base's source comes from `git archive <ref>` into .bench/ab/base-src (sharing this
// checkout's node_modules) and builds with its own scripts/build.ts; the working tree
// builds with ours. Then, per bundle, fresh `node` processes alternate A, B, B, A, … and
// each reports: import, first response (import + first is the cold start: < 50 ms for
// bundles that never query), and the same request five more times in the same process
// (< 10 ms for those that do): the 2nd alone ("second", one sample per process) and the
// median of the 2nd..6th ("warm", less at the mercy of one scheduler hiccup), each with
// the CPU time the child used (the rest is waiting: PostgreSQL, the proxy, and on a loaded
// machine the scheduler). Requests are bench/coldstart.ts' (requestFor: the console's
// pages with a signed session cookie, so they query). The child measures the way
// bench/coldstart.ts does: the database reached with the Neon driver over a loopback
// WebSocket→TCP proxy, the `ws` WebSocket and Node's lazily loaded Web globals installed
// before the clock starts. Medians of N runs; a table
// on stdout and in .bench/coldstart-ab.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ALL_FUNCTIONS } from '../functions/index.ts';
import { build } from '../scripts/build.ts';
import { type ChildResult, edgeFixture, requestFor, runChild } from './coldstart.ts';
import { ROOT_DIR } from './lib/child.ts';
import { midMedian } from './lib/stats.ts';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const base = opt('base') ?? 'HEAD';
const runs = Number(opt('runs') ?? 5);
const only = opt('only')?.split(',');

const AB = `${ROOT_DIR}.bench/ab/`;
/** The base commit's bundles, built by its own scripts/build.ts. */
function buildBase(): string {
  const src = `${AB}base-src`;
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${JSON.stringify(base)} | tar -x -C ${JSON.stringify(src)}`], {
    cwd: ROOT_DIR,
  });
  symlinkSync(`${ROOT_DIR}node_modules`, `${src}/node_modules`);
  const script = `const { build } = await import(${JSON.stringify(pathToFileURL(`${src}/scripts/build.ts`).href)}); await build(${JSON.stringify(`${AB}base`)}, { node: false });`;
  execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: src,
    stdio: 'inherit',
  });
  return `${AB}base/functions/`;
}

const commit = execFileSync('git', ['rev-parse', '--short', base], {
  cwd: ROOT_DIR,
  encoding: 'utf8',
}).trim();
const dirA = buildBase();
await build(`${AB}head`, { node: false });
const dirB = `${AB}head/functions/`;

const { b, proxy, seed, session, env } = await edgeFixture('coldab');
const f1 = (v: number) => v.toFixed(1);
// The machine is shared: the load average says how far wall-clock figures are inflated.
const load = () => loadavg()[0]!.toFixed(1);
const loadAtStart = load();
const lines = [
  `Cold start, base ${commit} (A) vs the working tree (B), ${runs} fresh processes each, interleaved; medians in ms.`,
  '',
  '"second" is the 2nd request alone; "warm" the median of the 2nd..6th in the same process; "CPU" the child\'s CPU time for the 2nd / median of the 2nd..6th.',
  '',
  '| bundle | queries | KB A → B | import + first A → B | second A → B | warm A → B | CPU 2nd A → B | CPU warm A → B | HTTP |',
  '|---|---|--:|--:|--:|--:|--:|--:|---|',
];
const worst = { cold: 0, second: 0 };
try {
  for (const def of [...ALL_FUNCTIONS].sort((x, y) => x.name.localeCompare(y.name))) {
    if (only && !only.includes(def.name)) continue;
    // The request bench/coldstart.ts sends: the console's pages with a session cookie.
    const request = requestFor(def, seed.job.id, session);
    const res: Record<'A' | 'B', ChildResult[]> = { A: [], B: [] };
    for (let r = 0; r < runs; r++) {
      for (const v of r % 2 ? (['B', 'A'] as const) : (['A', 'B'] as const)) {
        res[v].push(await runChild(`${v === 'A' ? dirA : dirB}${def.name}.mjs`, request, env));
      }
    }
    const cold = (v: 'A' | 'B') => midMedian(res[v].map((x) => x.importMs + x.firstMs));
    // "second": the 2nd request alone, one sample per run (what bench/coldstart.ts gated
    // on before); "warm": per run the median of the 2nd..6th, then the median over runs.
    const second = (v: 'A' | 'B') => midMedian(res[v].map((x) => x.warmMs[0]!));
    const warm = (v: 'A' | 'B') => midMedian(res[v].map((x) => midMedian(x.warmMs)));
    const cpu = (v: 'A' | 'B') => midMedian(res[v].map((x) => x.warmCpuMs[0]!));
    const warmCpu = (v: 'A' | 'B') => midMedian(res[v].map((x) => midMedian(x.warmCpuMs)));
    const kb = (dir: string) => (statSync(`${dir}${def.name}.mjs`).size / 1024).toFixed(0);
    const queries = def.db !== false;
    if (queries) worst.second = Math.max(worst.second, warm('B'));
    else worst.cold = Math.max(worst.cold, cold('B'));
    const statuses = [...new Set([...res.A, ...res.B].map((x) => x.status))].join(',');
    const line = `| ${def.name} | ${queries ? 'yes' : 'no'} | ${kb(dirA)} → ${kb(dirB)} | ${f1(cold('A'))} → ${f1(cold('B'))} | ${f1(second('A'))} → ${f1(second('B'))} | ${f1(warm('A'))} → ${f1(warm('B'))} | ${f1(cpu('A'))} → ${f1(cpu('B'))} | ${f1(warmCpu('A'))} → ${f1(warmCpu('B'))} | ${statuses} |`;
    lines.push(line);
    process.stderr.write(`${line}\n`);
  }
} finally {
  await proxy.close();
  await b.drop();
}
lines.push(
  '',
  `Load average (1 min) ${loadAtStart} at the start, ${load()} at the end, on ${cpus().length} CPUs.`,
  `Working tree: worst import + first response of a bundle that never queries ${f1(worst.cold)} ms (target < 50); ` +
    `worst warm request (median of the 2nd..6th) of a bundle that queries ${f1(worst.second)} ms (target < 10).`,
);
writeFileSync(`${ROOT_DIR}.bench/coldstart-ab.md`, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
