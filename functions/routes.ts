// Every endpoint function, in mount order. Static paths come before /jobs/:id so
// `/api/v1/jobs/claim` is never read as a job id. The Node adapter mounts them all; the
// build bundles each one on its own.
import type { FunctionDef } from '../lib/http/define.ts';
import healthz from './healthz.ts';
import infraStatus from './infra/status.ts';
import jobsBatch from './jobs/batch.ts';
import jobsCancel from './jobs/cancel.ts';
import jobsClaim from './jobs/claim.ts';
import jobsComplete from './jobs/complete.ts';
import jobsCreate from './jobs/create.ts';
import jobsFail from './jobs/fail.ts';
import jobsGet from './jobs/get.ts';
import jobsHeartbeat from './jobs/heartbeat.ts';
import jobsList from './jobs/list.ts';
import jobsReap from './jobs/reap.ts';
import jobsRetry from './jobs/retry.ts';
import jobsRetryByFilter from './jobs/retry-by-filter.ts';
import jobsSearch from './jobs/search.ts';
import providersStatus from './providers/status.ts';
import readyz from './readyz.ts';
import stats from './stats.ts';

export const ROUTES: readonly FunctionDef[] = [
  healthz,
  readyz,
  jobsCreate,
  jobsList,
  jobsBatch,
  jobsRetryByFilter,
  jobsCancel,
  jobsClaim,
  jobsReap,
  jobsSearch,
  jobsGet,
  jobsComplete,
  jobsFail,
  jobsRetry,
  jobsHeartbeat,
  stats,
  providersStatus,
  infraStatus,
];
