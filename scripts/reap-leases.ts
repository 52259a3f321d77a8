// One lease-reaper run for a Kubernetes CronJob (`npm run reap`): requeues or fails jobs
// whose lease expired, prunes terminal jobs older than JOB_RETENTION, prints one JSON line
// ({"requeued","failed","pruned","duration_ms"}) and exits 0, or prints {"error"} and exits 1.
// The built-in worker does the same on a timer; this is for deployments that want it
// independent of worker pods.
import { configOrExit } from '../lib/config/startup.ts';
import type { Db } from '../lib/db/port.ts';
import { explainDbError, openDatabase } from '../lib/db/startup.ts';
import { reapOnce } from '../lib/jobs/reap.ts';
import { describeError, isTransientDbError } from '../workers/retry.ts';

async function main(): Promise<number> {
  const config = configOrExit(process.env, (message) => JSON.stringify({ error: message }));
  const t0 = performance.now();
  let db: Db | undefined;
  try {
    db = await openDatabase(config.DATABASE_URL, { poolMax: 1, applicationName: 'ai-service-reaper' });
    const summary = await reapOnce(db, { retentionMs: config.JOB_RETENTION });
    console.log(JSON.stringify(summary));
    return 0;
  } catch (err) {
    const error =
      isTransientDbError(err) || !db ? explainDbError(err, config.DATABASE_URL).message : describeError(err);
    console.error(JSON.stringify({ error, ms: Math.round(performance.now() - t0) }));
    return 1;
  } finally {
    await db?.close().catch(() => {});
  }
}

process.exitCode = await main();
