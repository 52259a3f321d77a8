// Reads the migration files from disk (Node only: scripts, the Node adapter, workers).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { applyMigrations, type Migration } from './migrate.ts';
import { MIGRATIONS } from './migrations.ts';
import type { Db } from './port.ts';

const DEFAULT_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export async function loadMigrations(dir = process.env.MIGRATIONS_DIR ?? DEFAULT_DIR): Promise<Migration[]> {
  return Promise.all(
    MIGRATIONS.map(async (name) => ({
      name,
      sql: await readFile(`${dir.replace(/\/?$/, '/')}${name}`, 'utf8'),
    })),
  );
}

export async function migrate(db: Db): Promise<string[]> {
  return applyMigrations(db, await loadMigrations());
}
