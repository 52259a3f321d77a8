// Cold start of the per-route edge bundles (dist/functions/<name>.mjs from `npm run build`):
// each bundle's size, and in a fresh `node` process per run the time to import it plus
// the time to its first response — a real request for its route, the database reached
// through the Neon driver over a loopback WebSocket→TCP proxy (test/support/ws-proxy.ts),
// as on an edge platform in front of a self-hosted PostgreSQL. Node 20 has no global
// WebSocket, so the child installs the `ws` package's before the clock starts, and it
// touches Node's lazily loaded Web globals (Request, Response, WebCrypto) first too: edge
// runtimes have all of these built in, so they are not the bundle's cost.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ALL_FUNCTIONS } from '../functions/index.ts';
import type { FunctionDef } from '../lib/http/define.ts';
import { createJobs } from '../lib/jobs/create.ts';
import { issueSession, LOGIN_COOKIE, SESSION_COOKIE } from '../lib/ops/session.ts';
import { startWsProxy } from '../test/support/ws-proxy.ts';
import { ROOT_DIR } from './lib/child.ts';
import { createMigrated } from './lib/db.ts';
import { benchJob, MODEL_PROFILE } from './lib/jobs.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian } from './lib/stats.ts';
import { check } from './lib/targets.ts';

const DIST = `${ROOT_DIR}dist/functions/`;
const FRESH = `${ROOT_DIR}.bench/bundles/`;

/**
 * The bundles to measure: built fresh from the working tree by scripts/build.ts's build()
 * into .bench/bundles/ (so they match the code the other scenarios measure; dist/ is left
 * alone), else the last `npm run build` output in dist/functions/, else none.
 */
async function bundleDir(log: (s: string) => void): Promise<{ dir: string; source: string } | null> {
  const script = `${ROOT_DIR}scripts/build.ts`;
  if (existsSync(script)) {
    try {
      const { build } = (await import(pathToFileURL(script).href)) as {
        build(dist: string, opts: { node?: boolean }): Promise<unknown>;
      };
      await build(FRESH.slice(0, -1), { node: false });
      return {
        dir: `${FRESH}functions/`,
        source: 'built fresh from the working tree (scripts/build.ts build())',
      };
    } catch (e) {
      log(`  coldstart: fresh build failed (${e instanceof Error ? e.message : String(e)}); using dist/`);
    }
  }
  if (existsSync(DIST)) return { dir: DIST, source: 'dist/functions from the last `npm run build`' };
  return null;
}
export const TOKEN = 'bench-token-0123456789';

// Runs in the fresh process: `node --input-type=module -e CHILD`. After the first request
// the same request is sent WARM more times: the 2nd alone is "the second request" (one
// sample per process, at the mercy of one scheduler hiccup on a loaded machine), the
// median of the 2nd..6th is reported beside it. Each also reports the CPU time this process
// used for it (its own work, without the waits; bench/coldstart-ab.ts prints it).
const WARM = 5;
const CHILD = `
import { WebSocket } from 'ws';
globalThis.WebSocket ??= WebSocket;
// Node loads its Web globals lazily (undici's Request/Response, WebCrypto) on first use;
// an edge runtime has them built in, so touch them before the clock starts.
await new Response(new Request('http://warm/', { method: 'POST', body: '{}' }).body).text();
await crypto.subtle.digest('SHA-256', new TextEncoder().encode('warm'));
crypto.randomUUID();
const spec = JSON.parse(process.env.BENCH_REQUEST);
const t0 = performance.now();
const mod = await import(process.env.BENCH_BUNDLE);
const t1 = performance.now();
const call = () => mod.default.fetch(new Request('https://edge.example' + spec.path, {
  method: spec.method,
  headers: { authorization: 'Bearer ${TOKEN}', 'content-type': 'application/json', ...spec.headers },
  body: spec.body,
}));
const res = await call();
await res.text();
const t2 = performance.now();
const warmMs = [];
const warmCpuMs = [];
for (let i = 0; i < ${WARM}; i++) {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await (await call()).text();
  warmMs.push(performance.now() - t);
  const { user, system } = process.cpuUsage(cpu);
  warmCpuMs.push((user + system) / 1000);
}
process.stdout.write(JSON.stringify({ importMs: t1 - t0, firstMs: t2 - t1, warmMs, warmCpuMs, status: res.status }) + '\\n');
process.exit(0);
`;

interface EdgeRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A request that reaches the route's work: path parameters filled in (the seeded job,
 * the bench profile, a real asset), the documented example as the JSON body, and for the
 * console a signed session cookie (lib/ops/session.ts, as a logged-in operator has) with
 * its CSRF token in the form of a POST — otherwise those pages answer a redirect to the
 * login form and never query.
 */
export function requestFor(
  def: FunctionDef | undefined,
  jobId: string,
  session: Awaited<ReturnType<typeof issueSession>>,
): EdgeRequest {
  const method = def?.method ?? 'GET';
  const path = (def?.path ?? '/')
    .replace(':id', jobId)
    .replace(':name', MODEL_PROFILE)
    .replace(':file', 'ops.css');
  if (!path.startsWith('/ops')) {
    return { method, path, ...(method !== 'GET' && { body: JSON.stringify(def?.example ?? {}) }) };
  }
  if (def?.name === 'ops-login-post') {
    const form = new URLSearchParams({ _login: 'bench-login-nonce', token: TOKEN, next: '/ops' });
    return {
      method,
      path,
      headers: {
        cookie: `${LOGIN_COOKIE}=bench-login-nonce`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
    };
  }
  const headers = { cookie: `${SESSION_COOKIE}=${session.cookie}` };
  if (method === 'GET') return { method, path, headers };
  const form = new URLSearchParams({
    _csrf: session.session.csrf,
    action: 'retry',
    step: 'preview',
    filter: JSON.stringify({ status: ['failed'] }),
  });
  return {
    method,
    path,
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  };
}

export interface ChildResult {
  importMs: number;
  firstMs: number;
  status: number;
  /** The same request again WARM times in the same process: warmMs[0] is the second request. */
  warmMs: number[];
  /** CPU time of the child during each of them. */
  warmCpuMs: number[];
  /** Whole process: spawn to exit (Node's own start-up included). */
  processMs: number;
}

/**
 * What a bundle's child process needs: a bench database with one seeded job, the loopback
 * WebSocket→TCP proxy the Neon driver reaches it through, an operator session, and the env.
 */
export async function edgeFixture(tag: string) {
  const b = await createMigrated(tag, 2);
  const proxy = await startWsProxy('127.0.0.1', Number(new URL(b.url).port || 5432));
  const [seed] = await createJobs(b.db, [benchJob(1)]);
  const session = await issueSession(TOKEN, Date.now());
  const env = {
    DATABASE_URL: b.url,
    NEON_WS_PROXY: proxy.address,
    NEON_INSECURE: '1',
    AI_SERVICE_TOKEN: TOKEN,
    LOG_LEVEL: 'silent',
  };
  return { b, proxy, seed: seed!, session, env };
}

export function runChild(
  bundle: string,
  request: EdgeRequest,
  env: Record<string, string>,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: ROOT_DIR,
      env: {
        ...process.env,
        ...env,
        BENCH_BUNDLE: pathToFileURL(bundle).href,
        BENCH_REQUEST: JSON.stringify(request),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    p.on('exit', (code) => {
      const processMs = performance.now() - t0;
      try {
        resolve({
          ...(JSON.parse(out.trim().split('\n').at(-1)!) as Omit<ChildResult, 'processMs'>),
          processMs,
        });
      } catch {
        reject(new Error(`${bundle}: exit ${code}: ${err.slice(0, 500)}`));
      }
    });
  });
}

export async function coldstart(opts: { runs: number; log?: (s: string) => void }): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const bundles = await bundleDir(log);
  if (!bundles) {
    return {
      rows: [
        row('cold start', 'per-route bundles', null, 'ms', {
          note: 'not measured: no bundles',
          target: check('edge-cold', '< 50 ms', false),
        }),
      ],
      notes: ['cold start: not measured — no scripts/build.ts to build with and no dist/functions/.'],
    };
  }
  const DIR = bundles.dir;
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.mjs')).sort();
  const { b, proxy, seed, session, env } = await edgeFixture('coldstart');
  const rows: Row[] = [];
  const notes: string[] = [];
  const totals: number[] = [];
  try {
    for (const f of files) {
      const name = f.replace(/\.mjs$/, '');
      const def = ALL_FUNCTIONS.find((d) => d.name === name);
      const request = requestFor(def, seed.job.id, session);
      const file = `${DIR}${f}`;
      const bytes = (await stat(file)).size;
      const gzip = gzipSync(await readFile(file)).length;
      const runs: ChildResult[] = [];
      for (let r = 0; r < opts.runs; r++) runs.push(await runChild(file, request, env));
      const imp = midMedian(runs.map((x) => x.importMs));
      const first = midMedian(runs.map((x) => x.firstMs));
      const second = midMedian(runs.map((x) => x.warmMs[0]!));
      // Per process the median of its warm requests, then the median over processes.
      const warm = midMedian(runs.map((x) => midMedian(x.warmMs)));
      const total = midMedian(runs.map((x) => x.importMs + x.firstMs));
      totals.push(total);
      const statuses = [...new Set(runs.map((x) => x.status))].join(',');
      log(
        `  coldstart ${name}: ${(bytes / 1024).toFixed(0)} KB (${(gzip / 1024).toFixed(0)} KB gz), import ${imp.toFixed(1)} ms, ` +
          `first response ${first.toFixed(1)} ms (HTTP ${statuses}), second ${second.toFixed(1)} ms, warm ${warm.toFixed(1)} ms, process ${midMedian(runs.map((x) => x.processMs)).toFixed(0)} ms`,
      );
      // Issue 14: a bundle that never queries must answer its first request < 50 ms after
      // import; one that queries pays the connection on its first request (information)
      // and must answer the next in the same process < 10 ms.
      const queries = def?.db !== false;
      // A 5xx is fast and proves nothing: such a bundle does not meet its target.
      const served = runs.every((x) => x.status < 500);
      rows.push(
        row('cold start', `${name}: import + first response`, total, 'ms', {
          runs: runs.map((x) => x.importMs + x.firstMs),
          note: `${request.method} ${request.path} → ${statuses}; ${queries ? 'queries' : 'no database'}; ${(bytes / 1024).toFixed(0)} KB, ${(gzip / 1024).toFixed(0)} KB gzip; import ${imp.toFixed(1)} ms, first response ${first.toFixed(1)} ms, second ${second.toFixed(1)} ms, warm (median of the 2nd..6th) ${warm.toFixed(1)} ms`,
          ...(!queries && { target: check('edge-cold', '< 50 ms', served && total < 50) }),
        }),
      );
      if (queries)
        rows.push(
          row('cold start', `${name}: second request, same process`, second, 'ms', {
            runs: runs.map((x) => x.warmMs[0]!),
            ...(def && { target: check('edge-warm', '< 10 ms', served && second < 10) }),
          }),
          row('cold start', `${name}: warm requests (median of 2nd..6th), same process`, warm, 'ms', {
            runs: runs.map((x) => midMedian(x.warmMs)),
            note: 'the second request above is one sample per process; this is the median of five, beside it, not instead',
            ...(def && { target: check('edge-warm-median', '< 10 ms', served && warm < 10) }),
          }),
        );
    }
  } finally {
    await proxy.close();
    await b.drop();
  }
  notes.push(
    `cold start: ${files.length} bundles (${bundles.source}), ${opts.runs} fresh processes each; the first response includes opening the Neon ` +
      'WebSocket connection through the local proxy and the route’s query. Worst bundle: ' +
      `${Math.max(...totals).toFixed(1)} ms.`,
  );
  return { rows, notes };
}
