// Wraps a Db and counts statements by kind with their summed client-side time: the
// "round trips per job" profile that goes with a throughput figure.
import type { Db, Queryable } from '../../lib/db/port.ts';

export interface QueryCount {
  n: number;
  ms: number;
  rows: number;
}

export type QueryProfile = Map<string, QueryCount>;

/** A short label for a statement: its first keyword plus the table or function it hits. */
export function kindOf(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  // Unanchored: a statement may be wrapped (e.g. in a CTE that also sends NOTIFYs).
  if (/UPDATE ai_jobs AS j SET status = 'running'|WITH next AS .*UPDATE ai_jobs/i.test(s))
    return 'claim (CTE UPDATE … SKIP LOCKED)';
  if (/UPDATE ai_jobs AS j SET status = 'completed'.*jsonb_to_recordset/i.test(s)) return 'completeMany';
  if (/UPDATE ai_jobs SET status = 'completed'/i.test(s)) return 'completeJob';
  if (/UPDATE ai_jobs SET lease_expires_at/i.test(s)) return 'heartbeat';
  const m = /^(\w+)(?:.*?\b(?:FROM|INTO|UPDATE)\s+(\w+))?/i.exec(s);
  return m ? `${m[1]!.toUpperCase()} ${m[2] ?? ''}`.trim() : s.slice(0, 30);
}

export function countingDb(db: Db): { db: Db; profile: QueryProfile } {
  const profile: QueryProfile = new Map();
  const wrap = (q: Queryable['query']): Queryable['query'] =>
    (async (text: string, params?: readonly unknown[]) => {
      const t0 = performance.now();
      const r = await q(text, params);
      const k = kindOf(text);
      const c = profile.get(k) ?? { n: 0, ms: 0, rows: 0 };
      c.n++;
      c.ms += performance.now() - t0;
      c.rows += r.rowCount;
      profile.set(k, c);
      return r;
    }) as Queryable['query'];
  const wrapped: Db = {
    driver: db.driver,
    query: wrap(db.query.bind(db)),
    exec: db.exec.bind(db),
    transaction: (fn) =>
      db.transaction((tx) => fn({ query: wrap(tx.query.bind(tx)), exec: tx.exec.bind(tx) })),
    close: db.close.bind(db),
  };
  if (db.listen) wrapped.listen = db.listen.bind(db);
  return { db: wrapped, profile };
}

export function describeProfile(profile: QueryProfile, jobs: number): string {
  return [...profile]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(
      ([k, c]) =>
        `${k}: ${c.n} calls (${(c.n / jobs).toFixed(3)}/job, ${(c.rows / Math.max(1, c.n)).toFixed(0)} rows/call, ` +
        `${(c.ms / c.n).toFixed(2)} ms/call client-side)`,
    )
    .join('; ');
}
