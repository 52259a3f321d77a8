// npm run migrate (dist/migrate.mjs): apply pending migrations to DATABASE_URL once and
// exit. Safe to run from many pods at once (advisory lock).
import { ConfigError, loadConfig } from '../lib/config/load.ts';
import { migrate } from '../lib/db/migrations-fs.ts';
import { openDb } from '../lib/db/open.ts';

try {
  const config = loadConfig(process.env);
  const db = await openDb(config.DATABASE_URL, { poolMax: 1 });
  const t0 = Date.now();
  const applied = await migrate(db);
  await db.close();
  console.log(JSON.stringify({ applied, ms: Date.now() - t0 }));
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : `migration failed: ${(e as Error).message}`);
  process.exit(1);
}
