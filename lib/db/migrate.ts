// Applies migrations/*.sql in order, each once, recorded in ai_schema_migrations.
// A transaction-scoped advisory lock serialises concurrent runners (ten pods starting at
// once): the first applies, the others wait, then see the files recorded and skip them.
import type { Db, Queryable } from './port.ts';

export interface Migration {
  name: string;
  sql: string;
}

// Any constant works; this one is "aisvc" in ASCII so it is recognisable in pg_locks.
const LOCK_KEY = 0x6169737663;

export async function applyMigrations(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS ai_schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await tx.query<{ name: string }>('SELECT name FROM ai_schema_migrations')).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO ai_schema_migrations (name) VALUES ($1)', [m.name]);
      applied.push(m.name);
    }
    return applied;
  });
}

/** Names of applied migrations, or null when the table does not exist yet. */
export async function appliedMigrations(db: Queryable): Promise<string[] | null> {
  const exists = await db.query<{ t: string | null }>(
    `SELECT to_regclass('ai_schema_migrations')::text AS t`,
  );
  if (!exists.rows[0]?.t) return null;
  return (await db.query<{ name: string }>('SELECT name FROM ai_schema_migrations ORDER BY name')).rows.map(
    (r) => r.name,
  );
}
