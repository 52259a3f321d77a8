// POST /api/v1/jobs/claim — atomically lease pending jobs to an external worker. With
// `complete` and/or `fail` (the items of POST /jobs/complete and /jobs/fail, issue 14),
// those are settled first and the claim runs after them in the SAME transaction: "done
// with these, give me the next k" is one request and one commit, and the slots the
// settled jobs held are free for the claim's limits. Settlement outcomes are values (a
// lost lease is that item's lease_lost, never the request's); if the claim itself fails,
// nothing was settled and the worker repeats the whole request (replays answer ok).
// `"return": "minimal"` answers the settled items' outcomes without their jobs: the loop
// the README teaches needs only the outcomes, and the jobs were half of every answer.
import { claimScope } from '../../lib/auth/principal.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { fastCompleteItem } from '../../lib/http/item-fast-path.ts';
import { jobJson } from '../../lib/http/job-response.ts';
import { claimResult } from '../../lib/http/responses.ts';
import {
  checkItems,
  countCompleted,
  countFailed,
  results,
  toCompleteItem,
  toFailItem,
} from '../../lib/http/settle.ts';
import { parseBody } from '../../lib/http/validate.ts';
import { claimJobs } from '../../lib/jobs/claim.ts';
import { completeItems, failItems } from '../../lib/jobs/lease-many.ts';
import { claimSettleSchema, completeItemSchema, failItemSchema } from '../../lib/jobs/schemas.ts';
import { queuePolicy } from '../../lib/queues/policy.ts';

export default defineFunction({
  name: 'jobs-claim',
  method: 'POST',
  path: '/api/v1/jobs/claim',
  auth: true,
  access: 'worker',
  summary:
    'Claim pending jobs for a worker (each with its lease_token), optionally completing/failing others first in the same transaction',
  body: claimSettleSchema,
  example: { worker_id: 'gpu-worker-1', limit: 4, task_types: ['transcribe'], lease_timeout: '15m' },
  responses: {
    200: {
      description:
        'the claimed jobs with their lease tokens (possibly none); with complete/fail, one outcome per item of each, in order (ok without the job for "return": "minimal")',
      schema: claimResult,
    },
  },
  async handler(c) {
    const { db, config, metrics } = c.var.deps;
    const body = await parseBody(c, claimSettleSchema);
    // A worker token claims only the task types / profiles it is allowed (403 otherwise).
    const scope = claimScope(c.var.principal, body);
    const claim = {
      workerId: body.worker_id,
      limit: body.limit ?? 1,
      leaseMs: body.lease_timeout ?? config.WORKER_LEASE_TIMEOUT,
      taskTypes: scope.task_types,
      modelProfiles: scope.model_profiles,
      policy: queuePolicy(config),
      workerVersion: body.worker_version,
    };
    if (body.complete === undefined && body.fail === undefined) {
      const jobs = await claimJobs(db, claim);
      metrics.claimBatch(jobs.length);
      return c.json({ jobs: jobs.map((j) => jobJson(j, true)) });
    }
    // One id across both arrays is refused at its later index, as within one array.
    const seen = new Set<string>();
    const completing = checkItems(completeItemSchema, body.complete ?? [], seen, fastCompleteItem);
    const failing = checkItems(failItemSchema, body.fail ?? [], seen);
    const completeReq = completing.valid.map((v) => toCompleteItem(v.item));
    const failReq = failing.valid.map((v) => toFailItem(v.item));
    // claimJobs given a transaction's Queryable (no .transaction of its own) runs its two
    // statements inside it (lib/jobs/claim.ts inTransaction): one transaction in all.
    const shape = body.return ?? 'full';
    const out = await db.transaction(async (tx) => {
      const completed = await completeItems(tx, completeReq, shape);
      const failed = await failItems(tx, failReq, shape);
      const jobs = await claimJobs(tx, claim);
      return { completed, failed, jobs };
    });
    countCompleted(metrics, out.completed);
    countFailed(metrics, failReq, out.failed);
    metrics.claimBatch(out.jobs.length);
    return c.json({
      jobs: out.jobs.map((j) => jobJson(j, true)),
      ...(body.complete !== undefined && {
        complete: results(completing, out.completed, body.complete.length, shape),
      }),
      ...(body.fail !== undefined && { fail: results(failing, out.failed, body.fail.length, shape) }),
    });
  },
});
