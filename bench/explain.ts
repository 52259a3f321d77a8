// EXPLAIN (ANALYZE, BUFFERS) of the claim, list-by-owner, list-by-status and stats
// statements at 1M rows → docs/explain-1m.txt: the proof (issue 2) that each uses the
// index meant for it. The statements are captured from the repository functions
// themselves (a recording Queryable), so the file shows exactly what the code sends;
// the claim runs inside a transaction that is rolled back.
import { writeFile } from 'node:fs/promises';
import pg from 'pg';
import type { Queryable, QueryResult } from '../lib/db/port.ts';
import { claimJobs } from '../lib/jobs/claim.ts';
import { listJobs } from '../lib/jobs/list.ts';
import { jobStats } from '../lib/jobs/stats.ts';
import { ROOT_DIR } from './lib/child.ts';
import { createMigrated, serverInfo } from './lib/db.ts';
import { analyze } from './lib/peers.ts';
import { row, type ScenarioResult } from './lib/report.ts';
import { ownerOf, seedJobs } from './lib/seed.ts';

interface Captured {
  text: string;
  params: readonly unknown[];
  /**
   * Committed before the EXPLAIN, then VACUUM ANALYZE: reshapes the data for this case (and
   * every later one — such cases go last).
   */
  prepare?: string;
}

/** Runs fn against a Queryable that records statements and answers with no rows. */
async function capture(fn: (q: Queryable) => Promise<unknown>): Promise<Captured[]> {
  const out: Captured[] = [];
  const q: Queryable = {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      out.push({ text, params: params ?? [] });
      return { rows: [], rowCount: 0 };
    },
    async exec() {},
  };
  await fn(q).catch(() => {});
  return out;
}

/** EXPLAIN (ANALYZE, BUFFERS) inside a transaction that is always rolled back. */
async function explain(c: pg.Client, stmt: Captured): Promise<string> {
  await c.query('BEGIN');
  try {
    const r = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${stmt.text}`, [
      ...stmt.params,
    ]);
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  } finally {
    await c.query('ROLLBACK');
  }
}

const BUSY_HOUR = `UPDATE ai_jobs SET finished_at = now() - random() * interval '50 minutes'
  WHERE id IN (SELECT id FROM ai_jobs WHERE status = 'completed' AND finished_at < now() - interval '1 hour' LIMIT 15000)`;

const RARE_FAILED = `UPDATE ai_jobs SET status = 'completed', error_category = NULL, error_message = NULL
  WHERE status IN ('failed', 'cancelled') AND created_at > now() - interval '28 days'`;

export async function explainAt1M(
  opts: { rows?: number; log?: (s: string) => void } = {},
): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const n = opts.rows ?? 1_000_000;
  const out = `${ROOT_DIR}docs/explain-1m.txt`;
  const b = await createMigrated('explain', 2);
  try {
    const t0 = performance.now();
    await seedJobs(b.db, 0, n);
    await analyze(b.url, 'ai_jobs');
    log(`  explain: loaded ${n} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const mix = await b.db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM ai_jobs GROUP BY status ORDER BY n DESC',
    );
    const size = await b.db.query<{ s: string }>(
      `SELECT pg_size_pretty(pg_total_relation_size('ai_jobs')) AS s`,
    );
    const owner = ownerOf(123_457);
    const cases: [string, Captured[]][] = [
      [
        'claim: claimJobs({ limit: 10 }) — expects ai_jobs_claim_idx (partial, pending only)',
        await capture((q) => claimJobs(q, { workerId: 'explain', limit: 10, leaseMs: 900_000 })),
      ],
      [
        'claim for one task type: claimJobs({ limit: 10, taskTypes: ["transcribe"] })',
        await capture((q) =>
          claimJobs(q, { workerId: 'explain', limit: 10, leaseMs: 900_000, taskTypes: ['transcribe'] }),
        ),
      ],
      [
        `list by owner: listJobs(${JSON.stringify({ ...owner, limit: 50 })}) — expects ai_jobs_owner_idx`,
        await capture((q) => listJobs(q, { ...owner, limit: 50 })),
      ],
      [
        'list by status: listJobs({ status: ["failed"], limit: 50 }) — expects ai_jobs_failed_idx (migration 003)',
        await capture((q) => listJobs(q, { status: ['failed'], limit: 50 })),
      ],
      [
        'list by status, two statuses: listJobs({ status: ["failed", "cancelled"], limit: 50 })',
        await capture((q) => listJobs(q, { status: ['failed', 'cancelled'], limit: 50 })),
      ],
      [
        'list by status, a rare one (0.1 %): listJobs({ status: ["running"], limit: 50 }) — expects ai_jobs_lease_idx',
        await capture((q) => listJobs(q, { status: ['running'], limit: 50 })),
      ],
      ['stats: jobStats()', await capture((q) => jobStats(q))],
      // Last: these reshape the data (committed). First a busy hour: the stats window holds
      // every job finished in the last hour, so its cost follows throughput, not table size.
      [
        'stats: jobStats() after a busy hour (15,000 more jobs finished in the last hour)',
        (await capture((q) => jobStats(q))).map((c) => ({ ...c, prepare: BUSY_HOUR })),
      ],
      // Then failures and cancellations only in an old incident window, none among recent
      // jobs — a newest-first scan must walk far.
      [
        'list by status when failed/cancelled rows are rare among recent jobs (only > 28 days old remain): ' +
          'listJobs({ status: ["failed"], limit: 50 })',
        (await capture((q) => listJobs(q, { status: ['failed'], limit: 50 }))).map((c) => ({
          ...c,
          prepare: RARE_FAILED,
        })),
      ],
      [
        'the same data, two statuses: listJobs({ status: ["failed", "cancelled"], limit: 50 })',
        await capture((q) => listJobs(q, { status: ['failed', 'cancelled'], limit: 50 })),
      ],
    ];
    const info = await serverInfo();
    const client = new pg.Client({ connectionString: b.url, application_name: 'aisvc-bench-explain' });
    await client.connect();
    const parts = [
      `# EXPLAIN (ANALYZE, BUFFERS) at ${n.toLocaleString('en-US')} rows — generated by \`npm run bench -- --only explain\``,
      `# ${new Date().toISOString()} · ${info.version}`,
      `# shared_buffers ${info.shared_buffers}, work_mem ${info.work_mem}; ai_jobs with indexes: ${size.rows[0]!.s}`,
      `# status mix: ${mix.rows.map((r) => `${r.status} ${r.n}`).join(', ')}`,
      '# Statements captured from the repository functions (lib/jobs/*.ts); the claim is rolled back.',
      '',
    ];
    for (const [title, stmts] of cases) {
      for (const [i, c] of stmts.entries()) {
        parts.push(`## ${title}${stmts.length > 1 ? ` (${i + 1}/${stmts.length})` : ''}`);
        if (c.prepare) {
          await client.query(c.prepare);
          await client.query('VACUUM (ANALYZE) ai_jobs');
          parts.push(`-- prepared (committed, then VACUUM ANALYZE): ${c.prepare.replace(/\s+/g, ' ')}`);
        }
        // Run once first so the figures are for warm buffers, as in steady state.
        await explain(client, c);
        const plan = await explain(client, c);
        parts.push(c.text.trim().replace(/\n\s*\n/g, '\n'));
        parts.push(`-- params: ${JSON.stringify(c.params)}`);
        parts.push('');
        parts.push(plan);
        parts.push('');
      }
    }
    await client.end();
    await writeFile(out, `${parts.join('\n')}\n`);
    log(`  explain: wrote ${out}`);
    return {
      rows: [row('explain', 'docs/explain-1m.txt', n, 'rows')],
      notes: [`explain: EXPLAIN (ANALYZE, BUFFERS) at ${n} rows written to docs/explain-1m.txt.`],
    };
  } finally {
    await b.drop();
  }
}
