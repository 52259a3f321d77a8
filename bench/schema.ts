// What the table shape costs: the raw burn-down loop (the "raw limit": CTE claims with
// FOR UPDATE SKIP LOCKED + one batched complete per claim) on our migrated ai_jobs, and on
// variants with one index or trigger dropped after the enqueue. Every job's life is one
// INSERT and two UPDATEs that change indexed columns (status, lease_expires_at,
// finished_at), so neither UPDATE is HOT: each writes a new entry into every index whose
// predicate the new row version matches. (The raw loop sends no finished NOTIFYs; since
// migration 003 our completeMany does, once per 200 ids.) PostgreSQL CPU per job (its backends, /proc) is the steadier figure on a
// shared machine; jobs/s is reported beside it. Variants are interleaved within each run.
// Opt-in: `npm run bench -- --only schema`.
import { burnRaw, RAW_SETTINGS } from './burndown.ts';
import { type Row, row, type ScenarioResult } from './lib/report.ts';
import { midMedian } from './lib/stats.ts';

// The indexes a job's life writes to (migrations 001–003): insert → pkey, owner_idx,
// claim_idx (pending); claim → pkey, owner_idx, lease_idx (running); complete → pkey,
// owner_idx, finished_idx. IF EXISTS keeps the scenario running as the migrations change.
export const SCHEMA_VARIANTS: Record<string, string | undefined> = {
  'as migrated': undefined,
  'without ai_jobs_owner_idx': 'DROP INDEX IF EXISTS ai_jobs_owner_idx',
  'without ai_jobs_finished_idx': 'DROP INDEX IF EXISTS ai_jobs_finished_idx',
  'without ai_jobs_lease_idx': 'DROP INDEX IF EXISTS ai_jobs_lease_idx',
  'without owner_idx and finished_idx':
    'DROP INDEX IF EXISTS ai_jobs_owner_idx; DROP INDEX IF EXISTS ai_jobs_finished_idx',
};

export async function schema(opts: {
  n: number;
  runs: number;
  log?: (s: string) => void;
}): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const names = Object.keys(SCHEMA_VARIANTS);
  const rates = new Map<string, number[]>(names.map((k) => [k, []]));
  const pgUs = new Map<string, number[]>(names.map((k) => [k, []]));
  for (let r = 0; r < opts.runs; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]!;
      const res = await burnRaw(opts.n, RAW_SETTINGS, { alterSql: SCHEMA_VARIANTS[name] });
      const rate = opts.n / (res.ms / 1000);
      const us = ((res.cpu?.pgMs ?? Number.NaN) / opts.n) * 1000;
      rates.get(name)!.push(rate);
      pgUs.get(name)!.push(us);
      log(
        `  schema n=${opts.n} run ${r + 1}/${opts.runs} ${name}: ${rate.toFixed(0)} jobs/s, PG ${us.toFixed(1)} µs/job`,
      );
    }
  }
  const section = `table shape (raw loop, ${opts.n.toLocaleString('en-US')} jobs)`;
  const rows: Row[] = [];
  const base = midMedian(pgUs.get('as migrated')!);
  for (const k of names) {
    const us = midMedian(pgUs.get(k)!);
    rows.push(row(section, `${k}: PostgreSQL CPU`, us, 'µs/job', { runs: pgUs.get(k)! }));
    rows.push(row(section, `${k}: throughput`, midMedian(rates.get(k)!), 'jobs/s', { runs: rates.get(k)! }));
    if (k !== 'as migrated')
      rows.push(row(section, `${k}: PostgreSQL CPU vs as migrated`, (us / base) * 100, '%'));
  }
  return {
    rows,
    notes: [
      `schema: raw loop (${RAW_SETTINGS.loops} loops × claim ${RAW_SETTINGS.claimLimit}) on ai_jobs as migrated and with one ` +
        'index/trigger dropped after the enqueue (the enqueue cost is not measured here); PostgreSQL CPU from /proc of the ' +
        "database's backends plus the WAL writer, checkpointer and background writer.",
    ],
  };
}
