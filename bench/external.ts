// npx tsx bench/external.ts [--n 5000] [--runs 3] [--systems a,b] [--loops 4] [--limit 250]
//   [--settle minimal|full] [--full] [--base /path/to/checkout] [--prof DIR] [--also 8x250,…]
//   [--api-args "flags;flags"] — issue 14's
// external-worker target alone: the README's batched loop over HTTP (http-batch) against
// pg-boss's in-process burn-down, with the one-request-per-job loop (http) for reference,
// interleaved in one run (burndown.ts rotates the order each run). Prints the same table as
// `npm run bench`, whose burn-down scenario includes http-batch too; the ratio is only
// meaningful within one invocation on this shared machine.
//
// A/B in the same run: --full adds "http-batch full" (this code, the settle answer carrying
// every job); --base adds "http-batch base": another checkout's API (e.g. `git archive main
// | tar -x -C /tmp/base`, node_modules symlinked) driven by the full loop, which any version
// answers. --also 8x250,4x500 adds the loop with other loops × claim limits; --api-args the
// loop against an API run with other Node flags. --prof writes a V8 CPU profile of each
// API process into DIR.
import os from 'node:os';
import {
  type ApiServerOptions,
  burndown,
  burnHttpBatch,
  HTTP_BATCH_SETTINGS,
  type System,
} from './burndown.ts';
import { dropStale } from './lib/db.ts';
import { printTable } from './lib/report.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const sizes = arg('n', '5000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const systems = arg('systems', 'http-batch,pg-boss,http').split(',') as System[];
// Settings of the batched loop to try (the defaults are what `npm run bench` uses).
HTTP_BATCH_SETTINGS.loops = Number(arg('loops', String(HTTP_BATCH_SETTINGS.loops)));
HTTP_BATCH_SETTINGS.claimLimit = Number(arg('limit', String(HTTP_BATCH_SETTINGS.claimLimit)));
HTTP_BATCH_SETTINGS.connections = HTTP_BATCH_SETTINGS.loops;
HTTP_BATCH_SETTINGS.settle = arg('settle', HTTP_BATCH_SETTINGS.settle) as 'minimal' | 'full';
const prof = arg('prof', '');
const server: ApiServerOptions = prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${prof}`] } : {};
const full = { ...HTTP_BATCH_SETTINGS, settle: 'full' as const };
const extra: Record<string, (n: number) => ReturnType<typeof burnHttpBatch>> = {};
if (flag('full')) extra['http-batch full'] = (n) => burnHttpBatch(n, full, server);
if (arg('base', ''))
  extra['http-batch base'] = (n) => burnHttpBatch(n, full, { ...server, root: arg('base', '') });
// --api-args "--max-semi-space-size=32;--max-semi-space-size=64": the loop against an API
// started with those Node flags (one variant per ';'-separated set).
for (const flags of arg('api-args', '').split(';').filter(Boolean)) {
  const nodeArgs = [...(server.nodeArgs ?? []), ...flags.split(' ')];
  extra[`http-batch ${flags}`] = (n) => burnHttpBatch(n, HTTP_BATCH_SETTINGS, { ...server, nodeArgs });
}
// --also 8x250,4x500: the same loop with other loops × claim limits, in the same run.
for (const v of arg('also', '').split(',').filter(Boolean)) {
  const [loops, claimLimit] = v.split('x').map(Number) as [number, number];
  const settings = { ...HTTP_BATCH_SETTINGS, loops, claimLimit, connections: loops };
  extra[`http-batch ${loops}×${claimLimit}`] = (n) => burnHttpBatch(n, settings, server);
}

await dropStale();
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadStart = load();
const res = await burndown({
  sizes,
  runs,
  systems,
  extra,
  server,
  log: (s) => process.stderr.write(`${s}\n`),
});
printTable(res.rows);
for (const n of res.notes) console.log(`- ${n}`);
console.log(`load average start ${loadStart}, end ${load()}`);
process.exit(0);
