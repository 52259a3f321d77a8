// GET /api/v1/jobs/{id} — technical state and result. `?wait=30s` long-polls until the
// job is terminal or the wait ends (at most 60 s), so callers need not spin.

import * as z from 'zod/mini';
import { seesOwner } from '../../lib/auth/principal.ts';
import { AppError } from '../../lib/errors.ts';
import { defineFunction } from '../../lib/http/define.ts';
import { jobId, jobJson } from '../../lib/http/job-response.ts';
import { jobResponse } from '../../lib/http/responses.ts';
import { parseQuery } from '../../lib/http/validate.ts';
import { getJobCoalesced } from '../../lib/jobs/get-coalesced.ts';
import { durationMs } from '../../lib/jobs/schemas.ts';
import { isTerminal } from '../../lib/jobs/transitions.ts';
import { waitForTerminal } from '../../lib/jobs/wait.ts';

export const MAX_WAIT_MS = 60_000;
const query = z.strictObject({ wait: z.optional(durationMs(0, MAX_WAIT_MS)) });

export default defineFunction({
  name: 'jobs-get',
  method: 'GET',
  path: '/api/v1/jobs/:id',
  auth: true,
  access: 'jobs:read',
  summary: 'Get a job; ?wait=30s long-polls until it is terminal (≤ 60 s)',
  query,
  responses: { 200: { description: 'the job', schema: jobResponse }, 404: 'not_found: no such job' },
  async handler(c) {
    const id = jobId(c);
    const { wait = 0 } = parseQuery(c, query);
    const { stopping, db } = c.var.deps;
    // The common case — no wait, or the job already finished — is one read, coalesced with
    // concurrent GETs into one statement (lib/jobs/get-coalesced.ts).
    const first = await getJobCoalesced(db, id);
    // Another caller's job does not exist for this token.
    if (!first || !seesOwner(c.var.principal, first.owner_service))
      throw new AppError('not_found', `job ${id} not found`);
    if (wait === 0 || isTerminal(first.status)) return c.json(jobJson(first));
    // Only a long-poll needs the client's abort signal (reading c.req.raw costs a full
    // Request object on the Node adapter).
    const signal = stopping ? AbortSignal.any([c.req.raw.signal, stopping]) : c.req.raw.signal;
    const job = await waitForTerminal(c.var.deps, id, wait, signal);
    if (!job) throw new AppError('not_found', `job ${id} not found`);
    return c.json(jobJson(job));
  },
});
