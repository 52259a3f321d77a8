// The claim statement's plan on real PostgreSQL, as the pg driver runs it: a named
// prepared statement (aisvc_claim), planned per call for its first executions and then
// usually generic (parameters unknown to the planner). Both kinds of plan must read only
// what the claim takes (issue 14: "a claim whose speed does not depend on fresh
// statistics"); each is forced here in turn and measured with EXPLAIN ANALYZE of one
// claim, rolled back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPg } from '../../lib/db/pg.ts';
import type { Db } from '../../lib/db/port.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { createJobs } from '../../lib/jobs/create.ts';
import { EMPTY_POLICY } from '../../lib/queues/policy.ts';
import { freshDb, hasServer, type TestDb } from '../support/db.ts';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
/** Rows a scan node read from its relation, over all its loops (returned + filtered out). */
const rowsRead = (n: PlanNode) => (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'];

class RollBack extends Error {}

describe.runIf(hasServer)('the claim statement plan (pg, prepared)', () => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await freshDb('pg');
    // One connection: the SET and the prepared statement are that session's.
    db = openPg(t.url!, { max: 1 });
    // Prepares aisvc_claim on the connection (claims nothing: no such task type).
    await claimJobs(db, { workerId: 'w', limit: 1, leaseMs: 60_000, taskTypes: ['none'] });
  });
  afterAll(async () => {
    await db?.close();
    await t?.cleanup();
  });

  /** A caller's backlog, then statistics that saw only that caller, then a second caller. */
  const seed = async (bulk: number, later: number) => {
    await db.query('DELETE FROM ai_jobs');
    for (let i = 0; i < bulk; i += 1000)
      await createJobs(
        db,
        Array.from({ length: Math.min(1000, bulk - i) }, (_, k) => ({
          owner_service: 'bulk',
          owner_ref: `b/${i + k}`,
          task_type: 'llm_chat',
          model_profile: 'qwen',
          input: {},
        })),
      );
    await db.query('ANALYZE ai_jobs');
    await createJobs(
      db,
      Array.from({ length: later }, (_, k) => ({
        owner_service: 'later',
        owner_ref: `l/${k}`,
        task_type: 'llm_chat',
        model_profile: 'qwen',
        input: {},
      })),
    );
  };

  const explainClaim = async (mode: string, limit: number): Promise<PlanNode[]> => {
    await db.query(`SET plan_cache_mode = ${mode}`);
    let plan: PlanNode | undefined;
    await db
      .transaction(async (tx) => {
        const r = await tx.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE aisvc_claim('w', ${limit}, '{llm_chat}', '{}', 60000, '${JSON.stringify(EMPTY_POLICY)}', 100, NULL)`,
        );
        plan = r.rows[0]!['QUERY PLAN'][0]!.Plan;
        throw new RollBack();
      })
      .catch((e) => {
        if (!(e instanceof RollBack)) throw e;
      });
    return nodes(plan!);
  };

  it('plan_cache_mode auto: a small claim behind a backlog with statistics settles on the generic plan', async () => {
    await seed(20_000, 40);
    await db.query('SET plan_cache_mode = auto');
    const plans = async () =>
      (
        await db.query<{ generic: number; custom: number }>(
          `SELECT generic_plans::int AS generic, custom_plans::int AS custom
           FROM pg_prepared_statements WHERE name = 'aisvc_claim'`,
        )
      ).rows[0]!;
    // The statistics changed (seed's ANALYZE): the cached plans are rebuilt, five custom first.
    for (let i = 0; i < 6; i++)
      await claimJobs(db, { workerId: 'w', limit: 4, leaseMs: 60_000, taskTypes: ['llm_chat'] });
    const before = await plans();
    for (let i = 0; i < 4; i++)
      await claimJobs(db, { workerId: 'w', limit: 4, leaseMs: 60_000, taskTypes: ['llm_chat'] });
    const after = await plans();
    // No more planning per claim: the last four ran the generic plan.
    expect(after.custom - before.custom).toBe(0);
    expect(after.generic - before.generic).toBe(4);
  });

  for (const mode of ['force_custom_plan', 'force_generic_plan'])
    it(`${mode}: a claim of 8 reads each caller's next jobs, not the other caller's backlog`, async () => {
      await seed(20_000, 4);
      const plan = await explainClaim(mode, 8);
      const claimed = plan.find((n) => n['Node Type'] === 'ModifyTable' && n['Actual Rows'] === 8);
      expect(claimed).toBeDefined();
      // Pending rows read through an index of ai_jobs (the candidates of both callers):
      // a few per caller, not the 20,000 of "bulk" filtered out to find "later"'s.
      const read = plan
        .filter((n) => n['Relation Name'] === 'ai_jobs' && n['Node Type'] !== 'ModifyTable')
        .reduce((sum, n) => sum + rowsRead(n), 0);
      expect(read).toBeLessThan(100);
    });

  for (const mode of ['force_custom_plan', 'force_generic_plan'])
    it(`${mode}: a claim of 200 probes the primary key once per claimed job`, async () => {
      await seed(3000, 300);
      const plan = await explainClaim(mode, 200);
      const probes = plan
        .filter((n) => n['Index Name'] === 'ai_jobs_pkey')
        .reduce((sum, n) => sum + rowsRead(n) + (n['Rows Removed by Join Filter'] ?? 0), 0);
      const joins = plan.reduce((sum, n) => sum + (n['Rows Removed by Join Filter'] ?? 0), 0);
      expect(probes).toBeLessThanOrEqual(2 * 200);
      expect(joins).toBeLessThan(1000);
      // ai_jobs is never read whole (a sequential scan) to find the chosen rows.
      expect(plan.some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'ai_jobs')).toBe(false);
    });
});
