// GET /readyz — PostgreSQL reachable and every migration applied (Kubernetes readiness).

import { appliedMigrations } from '../lib/db/migrate.ts';
import { MIGRATIONS } from '../lib/db/migrations.ts';
import { defineFunction } from '../lib/http/define.ts';

export default defineFunction({
  name: 'readyz',
  method: 'GET',
  path: '/readyz',
  auth: false,
  summary: 'Readiness: database reachable and migrated',
  responses: { 200: '{"status":"ready"}', 503: '{"status":"not_ready","reason"}' },
  async handler(c) {
    let applied: string[] | null;
    try {
      applied = await appliedMigrations(c.var.deps.db);
    } catch {
      return c.json({ status: 'not_ready', reason: 'database unreachable' }, 503);
    }
    const missing = MIGRATIONS.filter((m) => !applied?.includes(m));
    if (missing.length > 0)
      return c.json({ status: 'not_ready', reason: 'migrations pending', missing }, 503);
    return c.json({ status: 'ready', driver: c.var.deps.db.driver, migrations: applied?.length ?? 0 });
  },
});
