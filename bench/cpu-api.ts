// CPU per request of the API against the minimal Hono + pg server (servers/minimal-pg.ts),
// for when the machine is too loaded for req/s to mean anything: each server runs in its
// own process, autocannon sends a fixed number of requests at 50 connections, and the
// figure is the server process's CPU (utime+stime from /proc) and its database backends'
// CPU divided by the requests answered. Servers are measured one after the other,
// interleaved over several rounds, in one invocation.
//
//   npx tsx bench/cpu-api.ts [--n 10000] [--rounds 3] [--base /path/to/other/checkout] [--postgresjs]
//
// --base adds "base API": bench/servers/api.ts of another checkout of this repository (e.g.
// `git archive <commit> | tar -x -C /tmp/base`, node_modules symlinked), so a change is
// compared with the code before it in the same run. --postgresjs adds the minimal server
// on porsager's `postgres` driver (servers/minimal-postgresjs.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { createJobs } from '../lib/jobs/create.ts';
import { ROOT_DIR } from './lib/child.ts';
import { startCpu } from './lib/cpu.ts';
import { ADMIN_URL, createMigrated } from './lib/db.ts';
import { benchJob } from './lib/jobs.ts';

const TOKEN = 'bench-token-0123456789';
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const N = Number(arg('n', '10000'));
const ROUNDS = Number(arg('rounds', '3'));
const BASE = arg('base', '');
const CONNECTIONS = Number(arg('connections', '50'));
const ONLY = arg('only', 'GET,POST').split(',');

interface Server {
  name: string;
  port: number;
  proc: ChildProcess;
  prefix: string;
}

function start(name: string, root: string, script: string, env: Record<string, string>, prefix: string) {
  const proc = spawn(process.execPath, ['--import', 'tsx', `${root}bench/servers/${script}`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise<Server>((resolve, reject) => {
    let buf = '';
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\d+)/.exec(buf);
      if (!m) return;
      proc.removeAllListeners('exit');
      proc.stdout!.removeAllListeners('data');
      proc.stdout!.resume();
      resolve({ name, port: Number(m[1]), proc, prefix });
    });
  });
}

const b = await createMigrated('cpu_api', 2);
const seeded = await createJobs(
  b.db,
  Array.from({ length: 1000 }, (_, i) => benchJob(i)),
);
const ids = seeded.map((s) => s.job.id);
const env = { DATABASE_URL: b.url, AI_SERVICE_TOKEN: TOKEN, MIGRATE_ON_START: 'false' };
const servers: Server[] = [
  await start('minimal', ROOT_DIR, 'minimal-pg.ts', env, '/jobs'),
  await start('API', ROOT_DIR, 'api.ts', env, '/api/v1/jobs'),
];
if (process.argv.includes('--postgresjs'))
  servers.push(await start('minimal postgres.js', ROOT_DIR, 'minimal-postgresjs.ts', env, '/jobs'));
if (BASE)
  servers.push(
    await start('base API', BASE.endsWith('/') ? BASE : `${BASE}/`, 'api.ts', env, '/api/v1/jobs'),
  );
const body = JSON.stringify(benchJob(42));
const auth = { authorization: `Bearer ${TOKEN}` };

const load = (s: Server, kind: string, amount: number) =>
  kind === 'GET'
    ? autocannon({
        url: `http://127.0.0.1:${s.port}`,
        connections: CONNECTIONS,
        amount,
        requests: [
          {
            method: 'GET',
            headers: auth,
            setupRequest: (req) => ({
              ...req,
              path: `${s.prefix}/${ids[Math.floor(Math.random() * ids.length)]}`,
            }),
          },
        ],
      })
    : autocannon({
        url: `http://127.0.0.1:${s.port}${s.prefix}`,
        connections: CONNECTIONS,
        amount,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body,
      });

const results = new Map<string, { node: number[]; pg: number[]; p99: number[] }>();
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of ONLY) {
      for (let i = 0; i < servers.length; i++) {
        const s = servers[(i + r) % servers.length]!;
        await load(s, kind, Math.min(2000, N)); // warm-up: JIT, pool connections
        const cpu = await startCpu(ADMIN_URL, b.name, s.proc.pid);
        const res = await load(s, kind, N);
        const use = await cpu.stop();
        const ok = res.requests.total - res.non2xx;
        if (res.non2xx > 0 || res.errors > 0)
          console.error(`${s.name} ${kind}: ${res.non2xx} non-2xx, ${res.errors} errors`);
        const key = `${kind} ${s.name}`;
        const e = results.get(key) ?? { node: [], pg: [], p99: [] };
        e.node.push(((use.childMs ?? 0) * 1000) / ok);
        e.pg.push((use.pgMs * 1000) / ok);
        e.p99.push(res.latency.p99);
        results.set(key, e);
        console.error(
          `round ${r + 1} ${key}: server ${e.node.at(-1)!.toFixed(1)} µs/req, pg ${e.pg.at(-1)!.toFixed(1)} µs/req, ${res.requests.average.toFixed(0)} req/s, p99 ${res.latency.p99} ms`,
        );
      }
    }
  }
} finally {
  for (const s of servers) s.proc.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await b.drop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\n${N} requests per measurement, ${CONNECTIONS} connections, ${ROUNDS} rounds; medians`);
console.log('| | server µs/req | PostgreSQL µs/req | p99 ms (loaded machine) |');
console.log('|---|--:|--:|--:|');
for (const [k, e] of results)
  console.log(`| ${k} | ${median(e.node).toFixed(1)} | ${median(e.pg).toFixed(1)} | ${median(e.p99)} |`);
for (const kind of ONLY) {
  const min = results.get(`${kind} minimal`);
  for (const s of servers.slice(1)) {
    const o = results.get(`${kind} ${s.name}`);
    if (!min || !o) continue;
    console.log(
      `${kind}: ${s.name} server CPU / minimal = ${(median(o.node) / median(min.node)).toFixed(2)}×, ` +
        `server+PG CPU / minimal = ${((median(o.node) + median(o.pg)) / (median(min.node) + median(min.pg))).toFixed(2)}×`,
    );
  }
}
