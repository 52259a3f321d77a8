// npm run migrate (dist/migrate.mjs): apply pending migrations to DATABASE_URL once and
// exit. Safe to run from many pods at once (advisory lock). Exit 1 with an explained
// message (the variable, the host, the likely fix) when the database cannot be used.
import { configOrExit } from '../lib/config/startup.ts';
import { migrate } from '../lib/db/migrations-fs.ts';
import { exitOnDbError, openDatabase } from '../lib/db/startup.ts';

const config = configOrExit();
const fail = exitOnDbError('migration failed', config.DATABASE_URL);
const db = await openDatabase(config.DATABASE_URL, { poolMax: 1 }).catch(fail);
const t0 = Date.now();
const applied = await migrate(db).catch(fail);
await db.close().catch(fail);
console.log(JSON.stringify({ applied, ms: Date.now() - t0 }));
