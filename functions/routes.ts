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
import jobsCompleteMany from './jobs/complete-many.ts';
import jobsCreate from './jobs/create.ts';
import jobsFail from './jobs/fail.ts';
import jobsFailMany from './jobs/fail-many.ts';
import jobsGet from './jobs/get.ts';
import jobsHeartbeat from './jobs/heartbeat.ts';
import jobsHeartbeatMany from './jobs/heartbeat-many.ts';
import jobsList from './jobs/list.ts';
import jobsReap from './jobs/reap.ts';
import jobsRetry from './jobs/retry.ts';
import jobsRetryByFilter from './jobs/retry-by-filter.ts';
import jobsSearch from './jobs/search.ts';
import jobsWebhooks from './jobs/webhooks.ts';
import opsAb from './ops/ab.ts';
import opsActions from './ops/actions.ts';
import opsAssets from './ops/assets.ts';
import opsFailures from './ops/failures.ts';
import opsJob from './ops/job.ts';
import opsJobs from './ops/jobs.ts';
import opsLogin from './ops/login.ts';
import opsLoginPost from './ops/login-post.ts';
import opsLogout from './ops/logout.ts';
import opsOverview from './ops/overview.ts';
import opsUsage from './ops/usage.ts';
import providersStatus from './providers/status.ts';
import queuesList from './queues/list.ts';
import queuesPause from './queues/pause.ts';
import queuesResume from './queues/resume.ts';
import queuesSet from './queues/set.ts';
import readyz from './readyz.ts';
import stats from './stats.ts';
import tokensCreate from './tokens/create.ts';
import tokensList from './tokens/list.ts';
import tokensRevoke from './tokens/revoke.ts';
import usage from './usage.ts';
import workersList from './workers/list.ts';

export const ROUTES: readonly FunctionDef[] = [
  healthz,
  readyz,
  jobsCreate,
  jobsList,
  jobsBatch,
  jobsRetryByFilter,
  jobsCancel,
  jobsClaim,
  jobsCompleteMany,
  jobsFailMany,
  jobsHeartbeatMany,
  jobsReap,
  jobsSearch,
  jobsGet,
  jobsComplete,
  jobsFail,
  jobsRetry,
  jobsHeartbeat,
  jobsWebhooks,
  stats,
  providersStatus,
  infraStatus,
  usage,
  // The ops console (docs/ops.md): HTML behind a session cookie, guarded in lib/ops/guard.ts.
  opsLogin,
  opsLoginPost,
  opsLogout,
  opsAssets,
  opsOverview,
  opsJobs,
  opsJob,
  opsFailures,
  opsActions,
  opsAb,
  opsUsage,
  queuesList,
  queuesPause,
  queuesResume,
  queuesSet,
  workersList,
  tokensCreate,
  tokensList,
  tokensRevoke,
];
