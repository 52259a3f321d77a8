// GET /readyz — PostgreSQL reachable and every migration applied (Kubernetes readiness).

import { appliedMigrations } from '../lib/db/migrate.ts';
import { MIGRATIONS } from '../lib/db/migrations.ts';
import { defineFunction } from '../lib/http/define.ts';
import { readyResponse } from '../lib/http/responses.ts';

const READY_TIMEOUT_MS = 2000;

export default defineFunction({
  name: 'readyz',
  method: 'GET',
  path: '/readyz',
  auth: false,
  summary: 'Readiness: database reachable and migrated',
  responses: {
    200: { description: 'ready', schema: readyResponse },
    503: { description: 'not ready: database unreachable or migrations pending', schema: readyResponse },
  },
  async handler(c) {
    const { db, clock } = c.var.deps;
    let applied: string[] | null;
    try {
      // A probe must answer within its own timeout even when connecting would hang.
      const stop = new AbortController();
      const timeout = clock.sleep(READY_TIMEOUT_MS, stop.signal).then(() => {
        if (!stop.signal.aborted) throw new Error('timeout');
        return null;
      });
      applied = await Promise.race([appliedMigrations(db), timeout]).finally(() => stop.abort());
    } catch {
      return c.json({ status: 'not_ready', reason: 'database unreachable' }, 503);
    }
    const missing = MIGRATIONS.filter((m) => !applied?.includes(m));
    if (missing.length > 0)
      return c.json({ status: 'not_ready', reason: 'migrations pending', missing }, 503);
    return c.json({ status: 'ready', driver: c.var.deps.db.driver, migrations: applied?.length ?? 0 });
  },
});
