// npx tsx bench/external.ts [--n 5000] [--runs 3] [--systems a,b] [--loops 4] [--limit 250] — issue 14's external-worker target
// alone: the README's batched loop over HTTP (http-batch) against pg-boss's in-process
// burn-down, with the one-request-per-job loop (http) for reference, interleaved in one
// run (burndown.ts rotates the order each run). Prints the same table as `npm run bench`,
// whose burn-down scenario includes http-batch too; the ratio is only meaningful within
// one invocation on this shared machine.
import os from 'node:os';
import { burndown, HTTP_BATCH_SETTINGS, type System } from './burndown.ts';
import { dropStale } from './lib/db.ts';
import { printTable } from './lib/report.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const sizes = arg('n', '5000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const systems = arg('systems', 'http-batch,pg-boss,http').split(',') as System[];
// Settings of the batched loop to try (the defaults are what `npm run bench` uses).
HTTP_BATCH_SETTINGS.loops = Number(arg('loops', String(HTTP_BATCH_SETTINGS.loops)));
HTTP_BATCH_SETTINGS.claimLimit = Number(arg('limit', String(HTTP_BATCH_SETTINGS.claimLimit)));
HTTP_BATCH_SETTINGS.connections = HTTP_BATCH_SETTINGS.loops;

await dropStale();
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadStart = load();
const res = await burndown({ sizes, runs, systems, log: (s) => process.stderr.write(`${s}\n`) });
printTable(res.rows);
for (const n of res.notes) console.log(`- ${n}`);
console.log(`load average start ${loadStart}, end ${load()}`);
process.exit(0);
