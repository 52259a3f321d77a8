// Entry point of the API process (`npm run api`, dist/server.mjs): config, database,
// migrations when MIGRATE_ON_START, then serve; SIGTERM/SIGINT shut down gracefully.
import { ConfigError, loadConfig } from '../config/load.ts';
import { migrate } from '../db/migrations-fs.ts';
import { openDb, resolveDbTarget } from '../db/open.ts';
import { createLogger } from '../telemetry/log.ts';
import { startApi } from './server.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  const log = createLogger(config.LOG_LEVEL, { process: 'api' });
  const target = resolveDbTarget(config.DATABASE_URL);
  if (target.driver === 'pglite')
    log.warn({ dir: target.dataDir ?? 'memory' }, 'DATABASE_URL unset: embedded PGlite');
  const db = await openDb(config.DATABASE_URL, {
    poolMax: config.DATABASE_POOL_MAX,
    onError: (err) => log.warn({ err: err.message }, 'database connection error'),
  });
  if (config.MIGRATE_ON_START) {
    const applied = await migrate(db);
    if (applied.length) log.info({ applied }, 'migrations applied');
  }
  const api = await startApi(config, db, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await api.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

void main();
