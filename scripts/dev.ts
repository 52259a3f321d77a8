// npm start: the API and the built-in workers in one process. With DATABASE_URL unset it
// runs on embedded PGlite under .data/pglite (nothing to install; one process per
// directory, see lib/db/pglite-lock.ts); with DATABASE_URL set it is the same pair of
// processes Kubernetes runs, folded into one for development.
import { hostname } from 'node:os';
import { configOrExit } from '../lib/config/startup.ts';
import { migrate } from '../lib/db/migrations-fs.ts';
import { exitOnDbError, openDatabase, redactDatabaseUrl } from '../lib/db/startup.ts';
import { closeHttpPools } from '../lib/providers/http.ts';
import { startApi } from '../lib/server/server.ts';
import { createLogger } from '../lib/telemetry/log.ts';
import { startWorker } from '../workers/worker.ts';

const config = configOrExit();
const log = createLogger(config.LOG_LEVEL, { process: 'dev' });
const fail = exitOnDbError('npm start', config.DATABASE_URL);
if (!config.DATABASE_URL) {
  log.info(
    { database: redactDatabaseUrl(undefined) },
    'DATABASE_URL unset: using the embedded database (PGlite)',
  );
}
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
const db = await openDatabase(config.DATABASE_URL, {
  poolMax: config.DATABASE_POOL_MAX,
  onError: (err) => worker?.onDbError(err),
  note: (msg, fields) => log.info(fields ?? {}, msg),
}).catch(fail);
if (config.MIGRATE_ON_START) await migrate(db).catch(fail);
const api = await startApi(config, db, log);
worker = await startWorker(config, { db, log });
log.info(
  {
    api: `http://${config.HTTP_HOST}:${api.port}`,
    worker_probe: worker.probeUrl,
    worker_id: worker.workerId,
    host: hostname(),
  },
  'ai-service running: API and built-in workers',
);

let stopping = false;
async function stop(signal: string) {
  if (stopping) process.exit(1);
  stopping = true;
  log.info({ signal }, 'shutting down');
  await worker?.stop();
  await api.close();
  await closeHttpPools();
  await db.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
