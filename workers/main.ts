// Entry point of the worker process (`npm run worker`): configuration, database, the
// worker (workers/worker.ts), and the process-level concerns — signals and exit codes.
//
//   bad configuration        → the message on stderr, exit 1
//   SIGTERM / SIGINT         → stop claiming, drain within WORKER_SHUTDOWN_GRACE, release
//                              the rest, close the database, exit 0 (a second signal: exit 1)
//   database errors          → never fatal: the worker backs off and reports not ready
//
// Importing this module (scripts/dev.ts) only re-exports startWorker; it runs main()
// only when executed directly.
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from '../lib/config/load.ts';
import type { Config } from '../lib/config/schema.ts';
import { openDb } from '../lib/db/open.ts';
import { closeHttpPools } from '../lib/providers/http.ts';
import { createLogger } from '../lib/telemetry/log.ts';
import { describeError } from './retry.ts';
import { startWorker, type WorkerHandle } from './worker.ts';

export {
  type HandlerStatus,
  type StartWorkerOptions,
  startWorker,
  type WorkerHandle,
  type WorkerStatus,
} from './worker.ts';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL, { process: 'worker' });
  process.on('unhandledRejection', (err) => {
    // Every database and provider call is awaited inside try/catch; one that escapes is a
    // bug to fix, not a reason to drop the jobs in flight.
    log.error({ err: describeError(err) }, 'unhandled promise rejection');
  });

  let worker: WorkerHandle | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
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
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const db = await openDb(config.DATABASE_URL, {
    poolMax: config.DATABASE_POOL_MAX,
    applicationName: 'ai-service-worker',
    // Idle pooled connections and the LISTEN connection die when PostgreSQL restarts;
    // the worker re-establishes its LISTEN session on these.
    onError: (err) => {
      if (worker) worker.onDbError(err);
      else log.warn({ err: describeError(err) }, 'database connection error');
    },
  });
  worker = await startWorker(config, { db, log, migrate: config.MIGRATE_ON_START });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`worker failed to start: ${describeError(err)}`);
    process.exit(1);
  });
}
