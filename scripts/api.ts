// Entry point of the API process (`npm run api`, dist/server.mjs): config, database,
// migrations when MIGRATE_ON_START, then serve (lib/server/server.ts); SIGTERM/SIGINT
// shut down gracefully. A bad configuration or a database that cannot be used stops
// start-up with a message naming the variable and the likely fix (exit 1): the platform
// restarts or alerts.
import { configOrExit } from '../lib/config/startup.ts';
import { migrate } from '../lib/db/migrations-fs.ts';
import { exitOnDbError, openDatabase, redactDatabaseUrl } from '../lib/db/startup.ts';
import { startApi } from '../lib/server/server.ts';
import { createLogger } from '../lib/telemetry/log.ts';

const config = configOrExit();
const log = createLogger(config.LOG_LEVEL, { process: 'api' });
const fail = exitOnDbError('api', config.DATABASE_URL);
if (!config.DATABASE_URL)
  log.warn({ database: redactDatabaseUrl(undefined) }, 'DATABASE_URL unset: embedded PGlite');
const db = await openDatabase(config.DATABASE_URL, {
  poolMax: config.DATABASE_POOL_MAX,
  onError: (err) => log.warn({ err: err.message }, 'database connection error'),
  note: (msg, fields) => log.info(fields ?? {}, msg),
}).catch(fail);
if (config.MIGRATE_ON_START) {
  const applied = await migrate(db).catch(fail);
  if (applied.length) log.info({ applied }, 'migrations applied');
}
const api = await startApi(config, db, log);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await api.close();
  await db.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
