// npx tsx bench/hot-table.ts [--n 20000] [--runs 3] — issue 14's design question for the
// built-in worker: is the table's three row versions per job the floor, and would "a small
// hot table for pending/running work and finished jobs in a time-partitioned history
// table" lift it? Measured as a prototype, not built into the service: the raw SKIP LOCKED
// loop (bench/burndown.ts: 4 loops × claim 500 + one batched complete, prepared) on
//
//   one-table   ai_jobs as migrated (every index; the rollup triggers disabled in both
//               variants, so only the table design differs)
//   hot+history the same rows in `hot` (ai_jobs' columns; only the indexes pending and
//               running work needs: primary key, claim, lease, fair-claim, idempotency,
//               owner), and a complete that MOVES the row: DELETE from `hot` … RETURNING,
//               INSERT into `history`, partitioned by day on finished_at, with the indexes
//               finished work needs (primary key, owner, finished, failed, cancelled, token
//               usage)
//
// interleaved in one invocation, jobs/s and PostgreSQL CPU per job (medians). What the
// prototype leaves out — and a real design must pay — is said in the notes it prints.
import { loadavg } from 'node:os';
import pg from 'pg';
import { RAW_COMPLETE, rawClaimSql } from './burndown.ts';
import { enqueueOurs } from './enqueue.ts';
import { type CpuUse, startCpu } from './lib/cpu.ts';
import { ADMIN_URL, createMigrated, dropStale } from './lib/db.ts';
import { analyze } from './lib/peers.ts';
import { midMedian } from './lib/stats.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const N = Number(arg('n', '20000'));
const RUNS = Number(arg('runs', '3'));
const LOOPS = 4;
const LIMIT = 500;

/** The move: the finished version is written once, into the history, and the hot row deleted. */
function completeMove(columns: string[]): string {
  const set: Record<string, string> = {
    status: `'completed'`,
    lease_expires_at: 'NULL',
    finished_at: 'now()',
    updated_at: 'now()',
    result: `'{}'::jsonb`,
  };
  const list = columns.join(', ');
  const values = columns.map((c) => set[c] ?? `m.${c}`).join(', ');
  return `
WITH m AS (DELETE FROM hot WHERE id = ANY($1::uuid[]) AND status = 'running' RETURNING *)
INSERT INTO history (${list}) SELECT ${values} FROM m`;
}

const SPLIT_SCHEMA = `
ALTER TABLE ai_jobs DISABLE TRIGGER USER;
CREATE TABLE hot (LIKE ai_jobs INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE hot ADD PRIMARY KEY (id);
CREATE INDEX hot_claim_idx ON hot (priority DESC, run_after, id) INCLUDE (task_type, model_profile) WHERE status = 'pending';
CREATE INDEX hot_lease_idx ON hot (lease_expires_at) INCLUDE (task_type, model_profile) WHERE status = 'running';
CREATE INDEX hot_owner_claim_idx ON hot (owner_service, task_type, model_profile, priority DESC, run_after, id) WHERE status = 'pending';
CREATE UNIQUE INDEX hot_idempotency_idx ON hot (owner_service, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX hot_owner_idx ON hot (owner_service, owner_ref, id DESC);
CREATE TABLE history (LIKE ai_jobs INCLUDING DEFAULTS) PARTITION BY RANGE (finished_at);
CREATE TABLE history_today PARTITION OF history
  FOR VALUES FROM (date_trunc('day', now()) - interval '1 day') TO (date_trunc('day', now()) + interval '2 days');
ALTER TABLE history ADD PRIMARY KEY (id, finished_at);
CREATE INDEX history_owner_idx ON history (owner_service, owner_ref, id DESC);
CREATE INDEX history_finished_idx ON history (finished_at) INCLUDE (status, error_category, duration_ms, task_type, model_profile);
CREATE INDEX history_failed_idx ON history (id DESC) WHERE status = 'failed';
CREATE INDEX history_cancelled_idx ON history (id DESC) WHERE status = 'cancelled';
CREATE INDEX history_token_usage_idx ON history (model_profile, finished_at DESC) WHERE tokens_used IS NOT NULL;
INSERT INTO hot SELECT * FROM ai_jobs;
TRUNCATE ai_jobs CASCADE;`;

type Variant = 'one-table' | 'hot+history';

async function burn(variant: Variant): Promise<{ ms: number; cpu: CpuUse }> {
  const b = await createMigrated('hot_table', 2);
  const clients = Array.from({ length: LOOPS }, () => new pg.Client({ connectionString: b.url }));
  try {
    await enqueueOurs(b.db, N);
    let complete = RAW_COMPLETE;
    let table = 'ai_jobs';
    if (variant === 'hot+history') {
      await b.db.exec(SPLIT_SCHEMA);
      const cols = await b.db.query<{ c: string }>(
        `SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'hot' ORDER BY ordinal_position`,
      );
      complete = completeMove(cols.rows.map((r) => r.c));
      table = 'hot';
      await analyze(b.url, 'hot');
    } else {
      await b.db.exec('ALTER TABLE ai_jobs DISABLE TRIGGER USER');
      await analyze(b.url, 'ai_jobs');
    }
    await Promise.all(clients.map((c) => c.connect()));
    let t0 = 0;
    let done = 0;
    const cpu = await startCpu(ADMIN_URL, b.name);
    const claim = rawClaimSql(table);
    const loop = async (c: pg.Client, w: number) => {
      for (;;) {
        const r = await c.query<{ id: string }>({ name: 'claim', text: claim, values: [LIMIT, `raw-${w}`] });
        if (r.rows.length === 0) return;
        if (t0 === 0) t0 = performance.now();
        const u = await c.query({ name: 'complete', text: complete, values: [r.rows.map((x) => x.id)] });
        done += u.rowCount ?? 0;
      }
    };
    await Promise.all(clients.map((c, w) => loop(c, w)));
    const ms = performance.now() - t0;
    const use = await cpu.stop();
    if (done !== N) throw new Error(`${variant}: ${done} of ${N} jobs completed`);
    if (variant === 'hot+history') {
      const left = await b.db.query<{ hot: number; history: number }>(
        `SELECT (SELECT count(*)::int FROM hot) AS hot, (SELECT count(*)::int FROM history) AS history`,
      );
      if (left.rows[0]!.hot !== 0 || left.rows[0]!.history !== N)
        throw new Error(`hot+history: ${JSON.stringify(left.rows[0])} after the burn-down`);
    }
    return { ms, cpu: use };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await b.drop();
  }
}

await dropStale();
const variants: Variant[] = ['one-table', 'hot+history'];
const rate = new Map<Variant, number[]>(variants.map((v) => [v, []]));
const pgUs = new Map<Variant, number[]>(variants.map((v) => [v, []]));
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const loadStart = load();
for (let r = 0; r < RUNS; r++) {
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + r) % variants.length]!;
    const { ms, cpu } = await burn(v);
    rate.get(v)!.push(N / (ms / 1000));
    pgUs.get(v)!.push((cpu.pgMs * 1000) / N);
    process.stderr.write(
      `  run ${r + 1}/${RUNS} ${v}: ${(N / (ms / 1000)).toFixed(0)} jobs/s, PostgreSQL ${((cpu.pgMs * 1000) / N).toFixed(1)} µs/job\n`,
    );
  }
}
const med = (m: Map<Variant, number[]>, v: Variant) => midMedian(m.get(v)!);
console.log(
  `raw SKIP LOCKED burn-down of ${N.toLocaleString('en-US')} jobs, ${LOOPS} loops × claim ${LIMIT}, ${RUNS} runs interleaved`,
);
for (const v of variants) {
  console.log(
    `  ${v.padEnd(12)} ${med(rate, v).toFixed(0).padStart(7)} jobs/s (${rate
      .get(v)!
      .map((x) => x.toFixed(0))
      .join(' / ')}), ` +
      `PostgreSQL ${med(pgUs, v).toFixed(1)} µs/job (${pgUs
        .get(v)!
        .map((x) => x.toFixed(1))
        .join(' / ')})`,
  );
}
console.log(
  `  hot+history / one-table: ${(med(rate, 'hot+history') / med(rate, 'one-table')).toFixed(2)}× jobs/s, ` +
    `${((med(pgUs, 'hot+history') / med(pgUs, 'one-table')) * 100).toFixed(0)} % of the PostgreSQL CPU per job`,
);
console.log(`load average start ${loadStart}, end ${load()}`);
console.log(
  'Not in the prototype (a real design pays them): idempotency keys unique across both tables (no index spans two ' +
    'tables: a key table or a check in the create), the unique parent_id of comparisons likewise, every read of a job by ' +
    'id or owner looking in both tables, the history partitions created ahead and dropped for retention, the rollup ' +
    'and NOTIFY triggers (disabled here in both variants).',
);
process.exit(0);
