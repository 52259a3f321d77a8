// Entry point of the worker process (`npm run worker`, dist/worker.mjs): configuration,
// database, the worker (workers/worker.ts), and the process-level concerns — signals and
// exit codes.
//
//   bad configuration        → the message on stderr, exit 1 (also a DATABASE_URL that can
//                              never work: not a URL, a PGlite directory in use)
//   SIGTERM / SIGINT         → stop claiming, drain within WORKER_SHUTDOWN_GRACE, release
//                              the rest, close the database, exit 0 (a second signal: exit 1)
//   database errors          → never fatal: the worker backs off and reports not ready;
//                              until the database first answers, one explained line per attempt
import { configOrExit } from '../lib/config/startup.ts';
import { exitOnDbError, openDatabase, redactDatabaseUrl, untilReachable } from '../lib/db/startup.ts';
import { closeHttpPools } from '../lib/providers/http.ts';
import { createLogger } from '../lib/telemetry/log.ts';
import { describeError } from '../workers/retry.ts';
import { startWorker, type WorkerHandle } from '../workers/worker.ts';

const config = configOrExit();
const log = createLogger(config.LOG_LEVEL, { process: 'worker' });
process.on('unhandledRejection', (err) => {
  // Every database and provider call is awaited inside try/catch; one that escapes is a
  // bug to fix, not a reason to drop the jobs in flight.
  log.error({ err: describeError(err) }, 'unhandled promise rejection');
});

let worker: WorkerHandle | undefined;
let stopping = false;
const giveUp = new AbortController();
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    log.warn({ signal }, 'second signal: exiting without waiting');
    process.exit(1);
  }
  stopping = true;
  giveUp.abort();
  // A signal during start-up: nothing has been claimed yet.
  if (!worker) process.exit(0);
  log.info(
    { signal, grace_ms: config.WORKER_SHUTDOWN_GRACE, in_flight: worker.runner.inFlight },
    'shutting down',
  );
  try {
    await worker.stop();
    await db.close();
    await closeHttpPools();
    process.exit(0);
  } catch (err) {
    log.error({ err: describeError(err) }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

// A DATABASE_URL that can never work (not a URL, a PGlite directory held by another
// process) stops start-up; an unreachable server does not: the worker starts (probes
// answer "not ready") and says once per attempt why it cannot reach the database.
const db = await openDatabase(config.DATABASE_URL, {
  poolMax: config.DATABASE_POOL_MAX,
  applicationName: 'ai-service-worker',
  verify: false,
  note: (msg, fields) => log.info(fields ?? {}, msg),
  // Idle pooled connections die when PostgreSQL restarts; the worker notes it and
  // checks its LISTEN session.
  onError: (err) => {
    if (worker) worker.onDbError(err);
    else log.warn({ err: describeError(err) }, 'database connection error');
  },
}).catch(exitOnDbError('worker', config.DATABASE_URL));
void untilReachable(
  db,
  config.DATABASE_URL,
  (problem, attempt, retryInMs) =>
    log.error({ attempt, retry_in_s: Math.round(retryInMs / 100) / 10 }, `${problem.message}; retrying`),
  giveUp.signal,
).then((ok) => {
  if (ok) log.info({ database: redactDatabaseUrl(config.DATABASE_URL) }, 'database reachable');
});
worker = await startWorker(config, { db, log, migrate: config.MIGRATE_ON_START }).catch((err) => {
  process.stderr.write(`worker failed to start: ${describeError(err)}\n`);
  process.exit(1);
});
