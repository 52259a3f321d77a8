// HTTP API: GET /api/v1/jobs/{id} and POST /api/v1/jobs through the Node adapter
// (lib/server/server.ts: every route, bearer auth, Prometheus metrics, pg pool of 10) in
// its own process, loaded by autocannon from this one, at 10 and 50 connections —
// against a bare Hono hello-world on the same adapter (@hono/node-server) as the ceiling.
// Configurations are interleaved within each run; a 1 s warm-up precedes each. Two more
// figures split the gap: GET /healthz (the same middleware stack, no database) and getJob
// through a pg pool with no HTTP at all (the database round trip alone). The targets are
// ratios against a minimal Hono + pg server doing the same database work
// (servers/minimal-pg.ts): GET ≥ 90 %, POST ≥ 1×, p99 at 50 connections ≤ 1.2× theirs
// (issue 14); the ratios to bare Hono are information.
import autocannon from 'autocannon';
import { openPg } from '../lib/db/pg.ts';
import { createJobs } from '../lib/jobs/create.ts';
import { getJob } from '../lib/jobs/list.ts';
import { startServer } from './lib/child.ts';
import { createMigrated } from './lib/db.ts';
import { benchJob } from './lib/jobs.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian } from './lib/stats.ts';
import { check } from './lib/targets.ts';

const TOKEN = 'bench-token-0123456789';
const SEED = 1000;

type Target = 'hello' | 'healthz' | 'GET job' | 'POST job' | 'min GET' | 'min POST';

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export async function http(opts: {
  durationS: number;
  runs: number;
  connections?: number[];
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const conns = opts.connections ?? [10, 50];
  const b = await createMigrated('http', 2);
  const seeded = await createJobs(
    b.db,
    Array.from({ length: SEED }, (_, i) => benchJob(i)),
  );
  const ids = seeded.map((s) => s.job.id);
  const api = await startServer('api.ts', {
    DATABASE_URL: b.url,
    AI_SERVICE_TOKEN: TOKEN,
    MIGRATE_ON_START: 'false',
  });
  const hello = await startServer('hello.ts', {});
  const minimal = await startServer('minimal-pg.ts', { DATABASE_URL: b.url });
  const auth = { authorization: `Bearer ${TOKEN}` };
  const createBody = JSON.stringify(benchJob(42));

  const load = (target: Target, connections: number, duration: number) => {
    if (target === 'hello')
      return autocannon({ url: `http://127.0.0.1:${hello.port}/`, connections, duration });
    if (target === 'healthz')
      return autocannon({ url: `http://127.0.0.1:${api.port}/healthz`, connections, duration });
    if (target === 'min GET' || target === 'GET job')
      return autocannon({
        url: `http://127.0.0.1:${target === 'GET job' ? api.port : minimal.port}`,
        connections,
        duration,
        requests: [
          {
            method: 'GET',
            headers: auth,
            setupRequest: (req) => ({
              ...req,
              path: `${target === 'GET job' ? '/api/v1/jobs' : '/jobs'}/${ids[Math.floor(Math.random() * ids.length)]}`,
            }),
          },
        ],
      });
    return autocannon({
      url:
        target === 'POST job'
          ? `http://127.0.0.1:${api.port}/api/v1/jobs`
          : `http://127.0.0.1:${minimal.port}/jobs`,
      connections,
      duration,
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: createBody,
    });
  };

  const targets: Target[] = ['hello', 'healthz', 'GET job', 'POST job', 'min GET', 'min POST'];
  const results = new Map<string, Figures[]>();
  const pgOnly: number[] = [];
  try {
    for (let r = 0; r < opts.runs; r++) {
      // The database part alone: getJob through a pg pool of 10 from 10 concurrent loops, no HTTP.
      {
        const db = openPg(b.url, { max: 10 });
        let n = 0;
        const end = performance.now() + opts.durationS * 1000;
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            while (performance.now() < end) {
              await getJob(db, ids[n % ids.length]!);
              n++;
            }
          }),
        );
        await db.close();
        pgOnly.push(n / opts.durationS);
        log(`  http run ${r + 1}/${opts.runs} getJob via pg, no HTTP: ${(n / opts.durationS).toFixed(0)} /s`);
      }
      for (const c of conns) {
        for (let i = 0; i < targets.length; i++) {
          const t = targets[(i + r) % targets.length]!;
          await load(t, c, 1); // warm-up (JIT, pool connections)
          const res = await load(t, c, opts.durationS);
          const f: Figures = {
            rps: res.requests.average,
            p50: res.latency.p50,
            p99: res.latency.p99,
            non2xx: res.non2xx,
            errors: res.errors,
          };
          if (f.non2xx > 0 || f.errors > 0)
            throw new Error(
              `${t} at ${c}: ${f.non2xx} non-2xx, ${f.errors} errors (${JSON.stringify(res.statusCodeStats)})`,
            );
          const key = `${t}@${c}`;
          results.set(key, [...(results.get(key) ?? []), f]);
          log(
            `  http run ${r + 1}/${opts.runs} ${key}: ${f.rps.toFixed(0)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms`,
          );
        }
      }
    }
  } finally {
    await api.stop();
    await hello.stop();
    await minimal.stop();
    await b.drop();
  }

  const rows: Row[] = [
    row('HTTP: the database alone', 'getJob via pg pool, 10 loops, no HTTP', midMedian(pgOnly), 'queries/s', {
      runs: pgOnly,
    }),
  ];
  for (const c of conns) {
    const section = `HTTP @ ${c} connections`;
    const med = (t: Target, k: keyof Figures) => midMedian(results.get(`${t}@${c}`)!.map((f) => f[k]));
    const runsOf = (t: Target, k: keyof Figures) => results.get(`${t}@${c}`)!.map((f) => f[k]);
    for (const t of targets) {
      rows.push(row(section, `${t} req/s`, med(t, 'rps'), 'req/s', { runs: runsOf(t, 'rps') }));
      rows.push(row(section, `${t} p50`, med(t, 'p50'), 'ms', { runs: runsOf(t, 'p50') }));
      const p99 = med(t, 'p99');
      rows.push(row(section, `${t} p99`, p99, 'ms', { runs: runsOf(t, 'p99') }));
    }
    // Round one's targets (GET ≥ 70 % of bare Hono, p99 < 10 ms at 50) are information
    // now: issue 14 measures the API against a server doing the same database work.
    rows.push(row(section, 'GET job / bare Hono', (med('GET job', 'rps') / med('hello', 'rps')) * 100, '%'));
    rows.push(
      row(section, 'POST job / bare Hono', (med('POST job', 'rps') / med('hello', 'rps')) * 100, '%'),
    );
    const getVsMin = med('GET job', 'rps') / med('min GET', 'rps');
    rows.push(
      row(section, 'GET job / minimal Hono+pg', getVsMin * 100, '%', {
        target: check('get-vs-minimal', '≥ 90 %', getVsMin >= 0.9),
      }),
    );
    const postVsMin = med('POST job', 'rps') / med('min POST', 'rps');
    rows.push(
      row(section, 'POST job / minimal Hono+pg', postVsMin, '×', {
        target: check('post-vs-minimal', '≥ 1×', postVsMin >= 1),
      }),
    );
    if (c === 50) {
      for (const [ours, theirs] of [
        ['GET job', 'min GET'],
        ['POST job', 'min POST'],
      ] as const) {
        const p = med(ours, 'p99') / med(theirs, 'p99');
        rows.push(
          row(section, `${ours} p99 / minimal Hono+pg p99`, p, '×', {
            target: check('p99-vs-minimal', '≤ 1.2×', p <= 1.2),
          }),
        );
      }
    }
    rows.push(
      row(
        section,
        'healthz (full middleware, no DB) / bare Hono',
        (med('healthz', 'rps') / med('hello', 'rps')) * 100,
        '%',
      ),
    );
  }
  return {
    rows,
    notes: [
      `http: autocannon in the benchmark process, server in its own Node process (both on this 2-core machine, with PostgreSQL); ` +
        `${opts.durationS} s per measurement after a 1 s warm-up; GET picks one of ${SEED} seeded jobs at random; ` +
        'POST creates a job (≈200-byte input) per request; bearer token on.',
    ],
  };
}
