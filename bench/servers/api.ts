// The Node adapter with every route (lib/server/server.ts), as deployed: pg pool, bearer
// token, Prometheus metrics; only errors logged (stderr). Env: DATABASE_URL, AI_SERVICE_TOKEN.
import { loadConfig } from '../../lib/config/load.ts';
import { openPg } from '../../lib/db/pg.ts';
import { startApi } from '../../lib/server/server.ts';
import { consoleLogger } from '../../lib/telemetry/port.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0' });
const db = openPg(config.DATABASE_URL!, {
  max: config.DATABASE_POOL_MAX,
  applicationName: 'aisvc-bench-api',
});
// Errors only (on stderr): a 5xx under load must say why; per-request lines would cost CPU.
const log = consoleLogger({ process: 'bench-api' }, 'error');
const api = await startApi(config, db, log, { port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${api.port}\n`);
process.on('SIGTERM', () => {
  void (async () => {
    await api.close();
    await db.close();
    process.exit(0);
  })();
});
